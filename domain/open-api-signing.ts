/**
 * How a seller signs its calls to the marketplace's open API (Query Order). The spec's APIG AK/SK
 * scheme (§1.10) is replaced by an HMAC under the product's access key, in the V2 style sellers
 * already implement:
 *
 *   X-Access-Key-Id: <productId>            which access key signed (keys are per product)
 *   X-Timestamp:     <epoch ms>             refused when more than 60 s from the marketplace's clock
 *   X-Nonce:         <16..64 of [A-Za-z0-9]> refused when seen before for this key
 *   X-Signature:     upper-hex HMAC-SHA256(accessKey, METHOD\nPATH\nSORTED_QUERY\nTIMESTAMP\nNONCE)
 *
 * SORTED_QUERY is `k=v&…` over the query parameters sorted by name, values URL-encoded (RFC 3986).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MAX_CLOCK_SKEW_MS } from './saas-signing';

export const OPEN_API_HEADERS = { keyId: 'x-access-key-id', timestamp: 'x-timestamp', nonce: 'x-nonce', signature: 'x-signature' } as const;

const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
export const sortedQuery = (params: Record<string, string>) =>
  Object.keys(params).sort().map((k) => `${encode(k)}=${encode(params[k]!)}`).join('&');

export function openApiSignature(accessKey: string, method: string, path: string, query: Record<string, string>, timestamp: string, nonce: string) {
  const canonical = [method.toUpperCase(), path, sortedQuery(query), timestamp, nonce].join('\n');
  return createHmac('sha256', accessKey).update(canonical, 'utf8').digest('hex').toUpperCase();
}

/** The headers a seller sends. */
export function signOpenApiCall(accessKey: string, keyId: string, method: string, path: string, query: Record<string, string>, now: number, nonce = randomBytes(16).toString('hex')) {
  const timestamp = String(now);
  return {
    [OPEN_API_HEADERS.keyId]: keyId, [OPEN_API_HEADERS.timestamp]: timestamp, [OPEN_API_HEADERS.nonce]: nonce,
    [OPEN_API_HEADERS.signature]: openApiSignature(accessKey, method, path, query, timestamp, nonce),
  };
}

export type OpenApiVerdict = { ok: true } | { ok: false; reason: 'malformed' | 'stale' | 'bad-signature' };

/** The marketplace's check; whether the nonce was seen before is the caller's (it needs storage). */
export function verifyOpenApiCall(accessKey: string, method: string, path: string, query: Record<string, string>,
  h: { timestamp?: string; nonce?: string; signature?: string }, now: number): OpenApiVerdict {
  if (!h.timestamp || !/^\d{13}$/.test(h.timestamp) || !h.nonce || !/^[A-Za-z0-9]{16,64}$/.test(h.nonce) || !h.signature) return { ok: false, reason: 'malformed' };
  if (Math.abs(now - Number(h.timestamp)) > MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'stale' };
  const expected = openApiSignature(accessKey, method, path, query, h.timestamp, h.nonce);
  const given = h.signature.toUpperCase();
  return expected.length === given.length && timingSafeEqual(Buffer.from(expected), Buffer.from(given)) ? { ok: true } : { ok: false, reason: 'bad-signature' };
}
