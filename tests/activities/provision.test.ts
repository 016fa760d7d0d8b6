import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProvisionActivities, DELISTING_THRESHOLD, type CallOutcome } from '../../activities/provision';
import { loadConfig } from '../../config';
import { charge } from '../../db/ledger';
import { ledgerTransactions, orderLines, orders, products } from '../../db/schema';
import { startReferenceSeller } from '../../seller/server';
import { seedSaasProduct, LOOPBACK_SELLERS, TEST_MASTER_KEY } from '../support/catalog';
import { freshDatabase } from '../support/db';
import { balance, expectLedgerBalanced } from '../support/ledger';

let database: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  try { Runtime.install({ logger: new DefaultLogger('ERROR') }); } catch { /* already installed in this process */ }
  database = await freshDatabase();
});
afterEach(async () => { await expectLedgerBalanced(database.db); });
afterAll(async () => database?.drop());

describe('provisioning activities: refunds and the delisting flag', () => {
  it('refunds a line once however often it is closed, and flags the product after more than 5 interface failures in a month', async () => {
    const { db } = database;
    const seed = await seedSaasProduct(db, { productionUrl: 'http://127.0.0.1:9/saasproduce', accessKey: 'k'.repeat(20), priceCents: 1000, balanceCents: 1000 * (DELISTING_THRESHOLD + 1) });
    const acts = createProvisionActivities({ db, config: loadConfig({ MASTER_KEY: TEST_MASTER_KEY, ...LOOPBACK_SELLERS }) });
    const env = new MockActivityEnvironment();
    for (let i = 1; i <= DELISTING_THRESHOLD + 1; i++) {
      const id = `CS26112900000000${i}`;
      await db.insert(orders).values({ id, buyerPrincipalId: seed.buyer, status: 'processing', totalCents: 1000 });
      await db.insert(orderLines).values({ id: `${id}-000001`, orderId: id, productId: seed.productId, skuId: seed.skuId, merchantId: seed.merchantId, status: 'processing', priceCents: 1000 });
      await charge(db, { orderLineId: `${id}-000001`, orderId: id, buyerId: seed.buyer, merchantId: seed.merchantId, productId: seed.productId, amountCents: 1000, sale: 'new' });
      await env.run(acts.closeAndRefund, { orderLineId: `${id}-000001`, status: 'failed' as const, reason: 'interface failure', interfaceFailure: true });
      // A retried activity (or a crash and replay) closes the same line again: no second refund.
      await env.run(acts.closeAndRefund, { orderLineId: `${id}-000001`, status: 'failed' as const, reason: 'interface failure', interfaceFailure: true });
      const [product] = await db.select().from(products).where(eq(products.id, seed.productId));
      expect(product!.flaggedForDelisting).toBe(i > DELISTING_THRESHOLD);
      expect((await db.select().from(orders).where(eq(orders.id, id)))[0]!.status).toBe('failed');
    }
    expect(await balance(db, seed.buyer)).toBe(1000 * (DELISTING_THRESHOLD + 1));
    expect(await db.select().from(ledgerTransactions).where(and(eq(ledgerTransactions.buyerId, seed.buyer), eq(ledgerTransactions.kind, 'refund')))).toHaveLength(DELISTING_THRESHOLD + 1);
  });

  it('keeps the first instance id of a line and flags a seller that answers another one', async () => {
    const { db } = database;
    const seller = await startReferenceSeller({ accessKey: 'k'.repeat(20), port: 0 });
    try {
      const seed = await seedSaasProduct(db, { productionUrl: seller.url, accessKey: 'k'.repeat(20) });
      await db.insert(orders).values({ id: 'CS2611290000000Y', buyerPrincipalId: seed.buyer, status: 'processing', totalCents: 1 });
      await db.insert(orderLines).values({ id: 'CS2611290000000Y-000001', orderId: 'CS2611290000000Y', productId: seed.productId, skuId: seed.skuId, merchantId: seed.merchantId, status: 'processing', priceCents: 1 });
      const acts = createProvisionActivities({ db, config: loadConfig({ MASTER_KEY: TEST_MASTER_KEY, ...LOOPBACK_SELLERS }) });
      const env = new MockActivityEnvironment();
      const first = (await env.run(acts.callNewInstance, { orderLineId: 'CS2611290000000Y-000001', attempt: 1 })) as CallOutcome;
      expect(first.outcome).toBe('success');
      seller.faults.instanceIdOverride = 'SOME-OTHER-INSTANCE';
      const second = (await env.run(acts.callNewInstance, { orderLineId: 'CS2611290000000Y-000001', attempt: 2 })) as CallOutcome;
      expect(second.instanceId).toBe(first.instanceId);
      expect((await db.select().from(orderLines).where(eq(orderLines.id, 'CS2611290000000Y-000001')))[0]).toMatchObject({ instanceId: first.instanceId, instanceConflict: true });
    } finally {
      await seller.close();
    }
  });

  it('records an unreachable seller as a retryable attempt with its error and latency', async () => {
    const { db } = database;
    const seed = await seedSaasProduct(db, { productionUrl: 'http://127.0.0.1:9/saasproduce', accessKey: 'k'.repeat(20) });
    await db.insert(orders).values({ id: 'CS2611290000000X', buyerPrincipalId: seed.buyer, status: 'processing', totalCents: 1 });
    await db.insert(orderLines).values({ id: 'CS2611290000000X-000001', orderId: 'CS2611290000000X', productId: seed.productId, skuId: seed.skuId, merchantId: seed.merchantId, status: 'processing', priceCents: 1 });
    const acts = createProvisionActivities({ db, config: loadConfig({ MASTER_KEY: TEST_MASTER_KEY, ...LOOPBACK_SELLERS, SELLER_CALL_TIMEOUT_MS: '2000' }) });
    const out = (await new MockActivityEnvironment().run(acts.callNewInstance, { orderLineId: 'CS2611290000000X-000001', attempt: 1 })) as CallOutcome;
    expect(out.outcome).toBe('retryable');
    expect(out.error).toMatch(/network error/);
  });
});
