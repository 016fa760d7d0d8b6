import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { products } from '../../db/schema';
import { resealSecrets } from '../../db/reseal';
import { createSecretBox, newMasterKey } from '../../domain/secret-box';
import { seedSaasProduct, TEST_MASTER_KEY } from '../support/catalog';
import { freshDatabase } from '../support/db';

let database: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { database = await freshDatabase(); });
afterAll(async () => database?.drop());

describe('master key rotation', () => {
  it('re-seals old values under the new key in the background; they still open meanwhile', async () => {
    const { db } = database;
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await seedSaasProduct(db, { productionUrl: 'https://seller.example.com/x', accessKey: `access-key-number-${i}` })).productId);
    const lost = (await seedSaasProduct(db, { productionUrl: 'https://seller.example.com/x', accessKey: 'sealed-under-a-lost-key' })).productId;
    await db.update(products).set({ accessKeyEnc: createSecretBox(newMasterKey()).seal('x') }).where(eq(products.id, lost));
    const rotated = createSecretBox(newMasterKey(), [TEST_MASTER_KEY]);
    const read = async (id: string) => (await db.select().from(products).where(eq(products.id, id)))[0]!.accessKeyEnc!;
    expect(rotated.open(await read(ids[0]!))).toBe('access-key-number-0');
    expect(await resealSecrets(db, rotated, 2)).toEqual({ resealed: 5, unreadable: 1 });
    for (const [i, id] of ids.entries()) {
      const sealed = await read(id);
      expect(sealed.startsWith(`v2.${rotated.keyId}.`)).toBe(true);
      expect(rotated.open(sealed)).toBe(`access-key-number-${i}`);
    }
    // Done once: a second pass finds nothing to do.
    expect(await resealSecrets(db, rotated)).toEqual({ resealed: 0, unreadable: 1 });
  });
});
