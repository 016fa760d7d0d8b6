import { createHash, randomBytes } from 'node:crypto';

// Crockford base32: ids stay readable, case-insensitive and free of look-alike letters.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += ALPHABET[bytes[i % bytes.length]! % 32];
  return out;
}

/** A new random id with a type prefix, e.g. `MA7Q2…`. */
export const newId = (prefix: string, length = 20) => prefix + base32(randomBytes(length), length);

/** The same id for the same (scope, key): retried requests with one Idempotency-Key land on one record. */
export const idFromKey = (prefix: string, scope: string, key: string, length = 20) =>
  prefix + base32(createHash('sha256').update(`${scope}\u0000${key}`).digest(), length);

/** The merchant an onboarding application creates when it is approved. */
export const merchantIdForApplication = (applicationId: string) => `M${applicationId.replace(/^MA/, '')}`;
