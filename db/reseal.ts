import { and, asc, eq, gt, isNotNull } from 'drizzle-orm';
import type { SecretBox } from '../domain/secret-box';
import type { Db } from './client';
import { products } from './schema';

/**
 * Re-seals every encrypted value that is not under the current master key (a key rotation:
 * docs/decisions/016-master-key-rotation.md), in batches, in the background of a worker process.
 * A value changed meanwhile is left to its writer; one no configured key opens is counted and skipped.
 */
export async function resealSecrets(db: Db, box: SecretBox, batch = 100): Promise<{ resealed: number; unreadable: number }> {
  let resealed = 0;
  let unreadable = 0;
  let after = '';
  for (;;) {
    const rows = await db.select({ id: products.id, sealed: products.accessKeyEnc }).from(products)
      .where(and(isNotNull(products.accessKeyEnc), gt(products.id, after))).orderBy(asc(products.id)).limit(batch);
    if (rows.length === 0) return { resealed, unreadable };
    for (const { id, sealed } of rows) {
      after = id;
      if (!box.stale(sealed!)) continue;
      let plain: string;
      try { plain = box.open(sealed!); } catch { unreadable++; continue; }
      const done = await db.update(products).set({ accessKeyEnc: box.seal(plain) })
        .where(and(eq(products.id, id), eq(products.accessKeyEnc, sealed!))).returning({ id: products.id });
      resealed += done.length;
    }
  }
}
