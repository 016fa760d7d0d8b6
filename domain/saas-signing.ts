/**
 * The SaaS production interface V2 signature (koogallery-spec §1.2, §1.3, §2.3), both sides:
 * the marketplace signs every call to a seller, and a seller (our reference seller) verifies it.
 *
 *   payload   = JSON of the body, keys sorted ascending (nested objects too), nulls dropped, compact
 *   bodyMac   = lower-hex HMAC-SHA256(accessKey, payload)
 *   signature = upper-hex HMAC-SHA256(accessKey, accessKey + nonce + timestamp + bodyMac)
 * sent as `?signature=…&timestamp=<ms>&nonce=…`. Responses may carry
 *   Body-Sign: sign_type="HMAC-SHA256", signature="<base64 HMAC-SHA256(accessKey, raw body)>"
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The seller rejects a timestamp that differs from its clock by more than this (spec §1.2). */
export const MAX_CLOCK_SKEW_MS = 60_000;

type Json = string | number | boolean | null | undefined | Json[] | { [k: string]: Json };

function canonical(value: Json): Json {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value).sort().filter((k) => value[k] !== null && value[k] !== undefined).map((k) => [k, canonical(value[k]!)]),
    );
  }
  return value;
}

/** The exact bytes that are signed and sent: a seller that re-serializes the parsed body the same way gets them back. */
export const canonicalPayload = (body: Record<string, Json>): string => JSON.stringify(canonical(body));

const hmac = (key: string, data: string) => createHmac('sha256', key).update(data, 'utf8');
export const bodyMac = (accessKey: string, payload: string) => hmac(accessKey, payload).digest('hex');
export const signature = (accessKey: string, payload: string, nonce: string, timestamp: string) =>
  hmac(accessKey, accessKey + nonce + timestamp + bodyMac(accessKey, payload)).digest('hex').toUpperCase();

/** A new nonce as the spec's examples show it: 64 upper-case hex characters. */
export const newNonce = () => randomBytes(32).toString('hex').toUpperCase();

export interface SignedRequest { payload: string; query: { signature: string; timestamp: string; nonce: string } }

export const signRequest = (accessKey: string, body: Record<string, Json>, now: number, nonce = newNonce()): SignedRequest =>
  signPayload(accessKey, canonicalPayload(body), now, nonce);

/** Signs the given bytes as they are; the conformance kit uses it to send equivalent bodies in another layout. */
export function signPayload(accessKey: string, payload: string, now: number, nonce = newNonce()): SignedRequest {
  const timestamp = String(now);
  return { payload, query: { signature: signature(accessKey, payload, nonce, timestamp), timestamp, nonce } };
}

export type Verdict = { ok: true } | { ok: false; reason: 'malformed' | 'stale' | 'bad-signature' };

const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * A seller's check of an incoming call over `payload`: the raw body bytes (the published sample
 * hashes its re-serialization instead, which breaks when serializers differ). Replay protection
 * (remembering nonces) is the caller's.
 */
export function verifyRequest(accessKey: string, payload: string, q: { signature?: string; timestamp?: string; nonce?: string }, now: number): Verdict {
  if (!q.signature || !q.nonce || !q.timestamp || !/^\d{13}$/.test(q.timestamp)) return { ok: false, reason: 'malformed' };
  if (Math.abs(now - Number(q.timestamp)) > MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'stale' };
  const expected = signature(accessKey, payload, q.nonce, q.timestamp);
  return sameText(expected, q.signature.toUpperCase()) ? { ok: true } : { ok: false, reason: 'bad-signature' };
}

export const bodySignHeader = (accessKey: string, rawBody: string) =>
  `sign_type="HMAC-SHA256", signature="${hmac(accessKey, rawBody).digest('base64')}"`;

/** Checks a response's Body-Sign header over the raw body bytes. An absent header is the caller's decision. */
export function verifyBodySign(accessKey: string, rawBody: string, header: string): boolean {
  const m = /^\s*sign_type\s*=\s*"([^"]*)"\s*,\s*signature\s*=\s*"([^"]*)"\s*$/.exec(header);
  if (!m || m[1] !== 'HMAC-SHA256' || !m[2]) return false;
  return sameText(hmac(accessKey, rawBody).digest('base64'), m[2]);
}
