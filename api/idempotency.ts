import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Request } from 'express';
import type { Db } from '../db/client';
import { idempotencyKeys } from '../db/schema';
import { Problem } from './problem';

/** JSON with object keys sorted at every level: the same body however its keys and spaces were written. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** SHA-256 of the canonical body, hex. */
export const fingerprint = (body: unknown) => createHash('sha256').update(canonicalJson(body)).digest('hex');

/**
 * Binds an Idempotency-Key to the first body it came with, per caller and request (decision 022). The
 * same key with the same body goes on (the route answers with what the first request made); with another
 * body it is refused with 422 naming the first fingerprint, before the route changes anything.
 */
export function createIdempotencyKeys(db: Db) {
  return {
    async claim(o: { principalId: string; request: string; key: string; body: unknown }): Promise<void> {
      const mine = fingerprint(o.body);
      const [claimed] = await db.insert(idempotencyKeys).values({ principalId: o.principalId, request: o.request, key: o.key, fingerprint: mine })
        .onConflictDoNothing().returning({ fingerprint: idempotencyKeys.fingerprint });
      if (claimed) return;
      const [first] = await db.select({ fingerprint: idempotencyKeys.fingerprint }).from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.principalId, o.principalId), eq(idempotencyKeys.request, o.request), eq(idempotencyKeys.key, o.key)));
      if (first && first.fingerprint !== mine) {
        throw new Problem(422, 'Unprocessable Content',
          `this Idempotency-Key was first used with another body (SHA-256 of its canonical JSON: ${first.fingerprint}); this body's is ${mine}. Nothing was changed: use a new key for a new request.`,
          [{ field: 'header.idempotency-key', message: `first used with the body of fingerprint sha256:${first.fingerprint}` }]);
      }
    },
  };
}
export type IdempotencyKeys = ReturnType<typeof createIdempotencyKeys>;

/** The app's one store (createApp puts it in app.locals), for api/route.ts. */
export const idempotencyKeysOf = (req: Request) => req.app.locals.idempotencyKeys as IdempotencyKeys;
