import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { RequestHandler } from 'express';
import type { Db } from '../db/client';
import { apiKeys, principals } from '../db/schema';
import { newId } from '../domain/ids';
import { forbidden, Problem } from './problem';

export type Role = 'buyer' | 'seller' | 'operator';
export interface Principal { id: string; role: Role; merchantId: string | null; name: string }

declare module 'express-serve-static-core' {
  interface Request { principal?: Principal }
}

// Keys are `mk_<keyId>_<secret>`: the id finds the row, and only SHA-256 of the 256-bit secret is stored.
// A fast hash is enough for random secrets of this length; slow hashes exist for guessable passwords.
const KEY_FORMAT = /^mk_([A-Z0-9]{12,32})_([A-Za-z0-9_-]{43})$/;
const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

export async function issueApiKey(db: Db, principalId: string, label?: string): Promise<string> {
  return (await issueApiKeyWithId(db, principalId, label)).apiKey;
}

export async function issueApiKeyWithId(db: Db, principalId: string, label?: string): Promise<{ keyId: string; apiKey: string }> {
  const id = newId('K', 15);
  const secret = randomBytes(32).toString('base64url');
  await db.insert(apiKeys).values({ id, principalId, secretHash: hash(secret), label: label ?? null });
  return { keyId: id, apiKey: `mk_${id}_${secret}` };
}

/** The key id of a presented key (`mk_<id>_<secret>`), for logs and revocation of one's own key. */
export const keyIdOf = (apiKey: string) => apiKey.match(KEY_FORMAT)?.[1];

export async function createPrincipal(db: Db, p: { role: Role; name: string; email?: string; phone?: string; merchantId?: string; supervisor?: boolean }) {
  const id = newId('P', 15);
  await db.insert(principals).values({ id, role: p.role, name: p.name, email: p.email ?? null, phone: p.phone ?? null, merchantId: p.merchantId ?? null, supervisor: p.supervisor ?? false });
  return id;
}

const unauthorized = (detail: string) => new Problem(401, 'Unauthorized', detail);

export interface KeyStore {
  authenticate: RequestHandler;
  /** Forgets a key in this process at once (after the database says it is revoked). */
  forget(keyId: string): void;
}

/**
 * Looks keys up in the database, remembering a verified key for `cacheMs` so a busy client does not
 * pay a query per request. A key revoked through this process stops at once (`forget`); other
 * processes notice within `cacheMs` (API_KEY_CACHE_MS, 5 s by default).
 */
export function createKeyStore(db: Db, cacheMs = 5_000): KeyStore {
  const cache = new Map<string, { secretHash: string; principal: Principal; until: number }>();
  const MAX_CACHED = 10_000;
  const authenticate: RequestHandler = async (req, res, next) => {
    const header = req.get('authorization');
    if (!header) throw unauthorized('send an API key as Authorization: Bearer <key>');
    // The scheme is case-insensitive (RFC 9110 §11.1).
    const m = /^bearer +(\S+) *$/i.exec(header)?.[1]?.match(KEY_FORMAT);
    if (!m) throw unauthorized('malformed API key');
    const given = Buffer.from(hash(m[2]!), 'hex');
    let entry = cache.get(m[1]!);
    if (!entry || entry.until < Date.now()) {
      const [row] = await db.select({ secretHash: apiKeys.secretHash, principal: principals }).from(apiKeys)
        .innerJoin(principals, eq(principals.id, apiKeys.principalId))
        .where(and(eq(apiKeys.id, m[1]!), isNull(apiKeys.revokedAt)));
      if (!row) throw unauthorized('unknown or revoked API key');
      const { id, role, merchantId, name } = row.principal;
      entry = { secretHash: row.secretHash, principal: { id, role, merchantId, name }, until: Date.now() + cacheMs };
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(m[1]!, entry);
    }
    if (!timingSafeEqual(given, Buffer.from(entry.secretHash, 'hex'))) throw unauthorized('unknown or revoked API key');
    req.principal = entry.principal;
    res.locals.principalId = entry.principal.id;
    next();
  };
  return { authenticate, forget: (keyId) => { cache.delete(keyId); } };
}

export function principalOf(req: { principal?: Principal }): Principal {
  if (!req.principal) throw unauthorized('not authenticated');
  return req.principal;
}

export function requireRole(req: { principal?: Principal }, ...roles: Role[]): Principal {
  const p = principalOf(req);
  if (!roles.includes(p.role)) throw forbidden(`this action needs the role ${roles.join(' or ')}`);
  return p;
}
