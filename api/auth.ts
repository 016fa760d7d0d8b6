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
  const id = newId('K', 15);
  const secret = randomBytes(32).toString('base64url');
  await db.insert(apiKeys).values({ id, principalId, secretHash: hash(secret), label: label ?? null });
  return `mk_${id}_${secret}`;
}

export async function createPrincipal(db: Db, p: { role: Role; name: string; email?: string; phone?: string; merchantId?: string; supervisor?: boolean }) {
  const id = newId('P', 15);
  await db.insert(principals).values({ id, role: p.role, name: p.name, email: p.email ?? null, phone: p.phone ?? null, merchantId: p.merchantId ?? null, supervisor: p.supervisor ?? false });
  return id;
}

const unauthorized = (detail: string) => new Problem(401, 'Unauthorized', detail);

export function authenticate(db: Db): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (!header) throw unauthorized('send an API key as Authorization: Bearer <key>');
    const m = /^Bearer (\S+)$/.exec(header)?.[1]?.match(KEY_FORMAT);
    if (!m) throw unauthorized('malformed API key');
    const [row] = await db.select({ secretHash: apiKeys.secretHash, principal: principals }).from(apiKeys)
      .innerJoin(principals, eq(principals.id, apiKeys.principalId))
      .where(and(eq(apiKeys.id, m[1]!), isNull(apiKeys.revokedAt)));
    const given = Buffer.from(hash(m[2]!), 'hex');
    if (!row || !timingSafeEqual(given, Buffer.from(row.secretHash, 'hex'))) throw unauthorized('unknown or revoked API key');
    req.principal = { id: row.principal.id, role: row.principal.role, merchantId: row.principal.merchantId, name: row.principal.name };
    res.locals.principalId = row.principal.id;
    next();
  };
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
