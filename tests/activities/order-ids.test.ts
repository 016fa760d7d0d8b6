import type { Client } from '@temporalio/client';
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrderService, ORDER_ID } from '../../api/order-service';
import { loadConfig } from '../../config';
import { orders } from '../../db/schema';
import { seedSaasProduct } from '../support/catalog';
import { freshDatabase } from '../support/db';

let database: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { database = await freshDatabase(); });
afterAll(async () => database?.drop());

// Starts are accepted and forgotten: this test is about the order rows.
const away = { workflow: { start: async () => ({}) }, withDeadline: <T>(_d: unknown, fn: () => Promise<T>) => fn() } as unknown as Client;

describe('order ids', () => {
  it('a colliding id is retried with another, also for replayed Idempotency-Keys; no 500', async () => {
    const { db } = database;
    const seed = await seedSaasProduct(db, { productionUrl: 'https://seller.example.com/x', accessKey: 'k'.repeat(20), priceCents: 100 });
    // Every order asks for the same suffix first: the second in the same minute collides.
    const suffixes = ['AAAAAAAA', 'AAAAAAAA', 'BBBBBBBB', 'AAAAAAAA', 'AAAAAAAA', 'BBBBBBBB', 'CCCCCCCC'];
    const service = createOrderService({ db, temporal: away, config: loadConfig({}), randomSuffix: () => suffixes.shift()! });
    const first = await service.place(seed.buyer, [{ skuId: seed.skuId }], 'key-1');
    const second = await service.place(seed.buyer, [{ skuId: seed.skuId }], 'key-2');
    expect(first.order.id).toMatch(ORDER_ID);
    expect(first.order.id.slice(-8)).toBe('AAAAAAAA');
    expect(second.order.id.slice(-8)).toBe('BBBBBBBB');
    // Replaying a key answers its order, whatever suffix comes next.
    const replayed = await service.place(seed.buyer, [{ skuId: seed.skuId }], 'key-2');
    expect(replayed).toMatchObject({ created: false, order: { id: second.order.id } });
    expect((await db.select({ n: count() }).from(orders))[0]!.n).toBe(2);
  });
});
