import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DIAL_CASES, saveDialCase } from '../../activities/dial-tests';
import { dialTestCases } from '../../db/schema';
import { seedSaasProduct } from '../support/catalog';
import { freshDatabase } from '../support/db';

let database: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { database = await freshDatabase(); });
afterAll(async () => database?.drop());

describe('saved dial-test cases', () => {
  it('keeps the same call once, even saved twice at once, and the newest ten of a product', async () => {
    const { db } = database;
    const { productId } = await seedSaasProduct(db, { productionUrl: 'http://127.0.0.1:9/saasproduce', accessKey: 'k'.repeat(20) });
    const body = { orderId: 'CSDEBUG0000000001', orderLineId: 'CSDEBUG0000000001-000001' };
    const [a, b] = await Promise.all([saveDialCase(db, productId, 'newInstance', body), saveDialCase(db, productId, 'newInstance', { ...body })]);
    expect(a).toBe(b);
    expect(await db.select().from(dialTestCases).where(eq(dialTestCases.productId, productId))).toHaveLength(1);

    const ids: string[] = [];
    for (let i = 0; i < MAX_DIAL_CASES + 2; i++) ids.push(await saveDialCase(db, productId, 'queryInstance', { instanceId: `i-${i}` }));
    const kept = await db.select().from(dialTestCases).where(eq(dialTestCases.productId, productId));
    expect(kept).toHaveLength(MAX_DIAL_CASES);
    expect(kept.map((c) => c.id).sort()).toEqual(ids.slice(-MAX_DIAL_CASES).sort());
  });
});
