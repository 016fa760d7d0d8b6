import type { Worker } from '@temporalio/worker';
import { and, eq, like } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOrderService } from '../../api/order-service';
import { instances, interfaceMessages, notifications, orderLines, orders, stuckProcesses } from '../../db/schema';
import { OUR_FAULT } from '../../seller-client/faults';
import { createWorker } from '../../worker';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import {
  cancelUpdate, manualDeliveryUpdate, provisionStateQuery, restartUpdate, saasProvisionWorkflowId,
} from '../../workflows/saas-provision-messages';
import { retryStuckUpdate, STUCK_SA } from '../../workflows/stuck-messages';
import { seedSaasProduct } from '../support/catalog';
import { balance as balanceOf, expectLedgerBalanced } from '../support/ledger';
import { expectHistoryWithin } from '../support/history';
import { recordHistory } from '../support/replay';
import { HOUR, startReviewHarness, workflowBundle, type ReviewHarness } from '../support/review-harness';

const ACCESS_KEY = 'seller-access-key-for-tests';
const MINUTE = 60_000;

let h: ReviewHarness;
let seller: ReferenceSeller;
beforeAll(async () => {
  h = await startReviewHarness();
  seller = await startReferenceSeller({ accessKey: ACCESS_KEY, port: 0 });
  await h.startWorker();
});
afterEach(async () => { await expectLedgerBalanced(h.db); });
afterAll(async () => { await seller?.close(); await h?.close(); });

/** A fresh buyer and product, an order for it, and the handle of its line's provisioning workflow. */
async function order() {
  // One-time: a monthly line would also start a subscription, whose sticky tasks on a stopped worker the time-skipping
  // server waits for (these tests stop workers); subscriptions have their own tests.
  const seed = await seedSaasProduct(h.db, { productionUrl: seller.url, accessKey: ACCESS_KEY, priceCents: 9900, balanceCents: 50_000, chargingMode: 'one_time' });
  const { lines } = await createOrderService({ db: h.db, temporal: h.env.client, config: h.config }).place(seed.buyer, [{ skuId: seed.skuId }]);
  const line = lines[0]!;
  return { ...seed, line, handle: h.env.client.workflow.getHandle(saasProvisionWorkflowId(line.id)) };
}
const calls = (orderLineId: string) => seller.received.filter((c) => c.activity === 'newInstance' && (c.body as { orderLineId?: string })?.orderLineId === orderLineId);
const balance = (buyer: string) => balanceOf(h.db, buyer);
const lineRow = async (id: string) => (await h.db.select().from(orderLines).where(eq(orderLines.id, id)))[0]!;
const until = async (pred: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 300; i++) { if (await pred()) return; await new Promise((r) => setTimeout(r, 50)); }
  throw new Error(`timed out waiting for ${what}`);
};

describe('SaaS provisioning against the reference seller on the time-skipping server', () => {
  it('delivers by itself when the seller comes back after 2 h 50 min, with exactly one instance', async () => {
    seller.faults.downUntil = Number.MAX_SAFE_INTEGER;
    const { line, handle, buyer } = await order();
    expect(await balance(buyer)).toBe(50_000 - 9900);
    await h.env.sleep(2 * HOUR + 50 * MINUTE);
    seller.faults.downUntil = undefined;
    const done = await handle.result();
    expect(done).toMatchObject({ status: 'delivered' });
    // Attempts every 3 minutes from 0: the 58th (at 2 h 51 min) is the first after the outage.
    expect(done.attempts).toBe(58);
    expect([...seller.instances().values()].filter((i) => i.orderLineId === line.id)).toHaveLength(1);
    expect(await h.db.select().from(instances).where(eq(instances.orderLineId, line.id))).toHaveLength(1);
    expect(await lineRow(line.id)).toMatchObject({ status: 'delivered', instanceId: done.instanceId, instanceConflict: false });
    expect((await h.db.select().from(orders).where(eq(orders.id, line.orderId)))[0]!.status).toBe('completed');
    const messages = await h.db.select().from(interfaceMessages).where(and(eq(interfaceMessages.orderLineId, line.id), eq(interfaceMessages.activity, 'newInstance')));
    expect(messages).toHaveLength(58);
    expect(messages.filter((m) => m.outcome === 'retryable').every((m) => m.httpStatus === 503 && m.error === 'HTTP 503')).toBe(true);
    // Each call carried a new businessId and the same order ids.
    expect(new Set(calls(line.id).map((c) => (c.body as { businessId: string }).businessId)).size).toBe(calls(line.id).length);
  });

  it('stops the automatic attempts at 3 h, their number matching the interval; a restart after recovery delivers', async () => {
    seller.faults.downUntil = Number.MAX_SAFE_INTEGER;
    const { line, handle } = await order();
    await h.env.sleep(3 * HOUR + 30 * MINUTE);
    const waiting = await handle.query(provisionStateQuery);
    // 3 h / 3 min: attempts at 0, 3, …, 177 minutes.
    expect(waiting).toMatchObject({ status: 'interface_failed', attempts: 60 });
    expect(calls(line.id)).toHaveLength(60);
    expect((await lineRow(line.id))).toMatchObject({ status: 'processing', provisioning: 'interface_failed' });
    const told = () => h.inbox.mails.some((m) => m.to.includes('cs@seller.example.com') && m.subject.includes(line.id) && m.subject.includes('automatic retries stopped'));
    for (let i = 0; i < 100 && !told(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(told()).toBe(true);
    // Every failed attempt was also told to the seller (e-mail, SMS and in-site message).
    expect(h.inbox.mails.filter((m) => m.subject.includes(line.id) && m.subject.includes('call failed'))).toHaveLength(60);

    seller.faults.downUntil = undefined;
    const restarted = await handle.executeUpdate(restartUpdate, { args: [{ sellerId: 'seller' }] });
    expect(restarted.status).toBe('delivered');
    expect(calls(line.id)).toHaveLength(61);
    expect(await lineRow(line.id)).toMatchObject({ status: 'delivered' });
    await recordHistory(handle, 'retries-exhausted-restart-delivered');
  });

  it('a manual delivery completes the order', async () => {
    seller.faults.downUntil = Number.MAX_SAFE_INTEGER;
    const { line, handle } = await order();
    // A minute past the window: at 3 h exactly the line is turning interface_failed.
    await h.env.sleep(3 * HOUR + MINUTE);
    const state = await handle.executeUpdate(manualDeliveryUpdate, { args: [{ sellerId: 'seller', instanceId: 'manual-instance-1' }] });
    expect(state).toMatchObject({ status: 'delivered', instanceId: 'manual-instance-1' });
    expect(await h.db.select().from(instances).where(eq(instances.orderLineId, line.id))).toEqual([expect.objectContaining({ id: 'manual-instance-1', deliveredBy: 'manual' })]);
    expect((await h.db.select().from(orders).where(eq(orders.id, line.orderId)))[0]!.status).toBe('completed');
    seller.faults.downUntil = undefined;
  });

  it('000106 fails the order at once and refunds the buyer', async () => {
    seller.faults.resultCodes = ['000106'];
    const { line, handle, buyer } = await order();
    const done = await handle.result();
    expect(done).toMatchObject({ status: 'failed', attempts: 1 });
    expect(await balance(buyer)).toBe(50_000);
    expect(await lineRow(line.id)).toMatchObject({ status: 'failed' });
    expect((await h.db.select().from(orders).where(eq(orders.id, line.orderId)))[0]!.status).toBe('failed');
    await recordHistory(handle, 'refused-000106');
  });

  it('000004 followed by polling queryInstance delivers the order', async () => {
    seller.setMode('async');
    try {
      const { line, handle } = await order();
      const done = await handle.result();
      expect(done.status).toBe('delivered');
      const polls = await h.db.select().from(interfaceMessages).where(and(eq(interfaceMessages.orderLineId, line.id), eq(interfaceMessages.activity, 'queryInstance')));
      expect(polls.length).toBeGreaterThanOrEqual(1);
      expect(polls.at(-1)!.outcome).toBe('success');
      await recordHistory(handle, 'async-polled-delivered');
    } finally {
      seller.setMode('sync');
    }
  });

  it('survives a worker stopped in the middle of provisioning: nothing lost, no second instance', async () => {
    // A worker without a cache leaves no sticky queue for the time-skipping server to wait on (see the review test).
    await h.stopWorker();
    await h.startWorker({ maxCachedWorkflows: 0 });
    seller.faults.downUntil = Number.MAX_SAFE_INTEGER;
    const { line, handle } = await order();
    await h.env.sleep(30 * MINUTE);
    const before = (await handle.query(provisionStateQuery)).attempts;
    expect(before).toBeGreaterThanOrEqual(10);
    await h.stopWorker();
    seller.faults.downUntil = undefined;
    await h.startWorker();
    const done = await handle.result();
    expect(done.status).toBe('delivered');
    expect(done.attempts).toBe(before + 1);
    expect([...seller.instances().values()].filter((i) => i.orderLineId === line.id)).toHaveLength(1);
    expect(await h.db.select().from(instances).where(eq(instances.orderLineId, line.id))).toHaveLength(1);
    expect(calls(line.id)).toHaveLength(before + 1);
  });

  it('the buyer can cancel a failed order, which refunds it once', async () => {
    seller.faults.downUntil = Number.MAX_SAFE_INTEGER;
    const { line, handle, buyer } = await order();
    // A minute past the window: at 3 h exactly the line is turning interface_failed.
    await h.env.sleep(3 * HOUR + MINUTE);
    const state = await handle.executeUpdate(cancelUpdate, { args: [{ buyerId: buyer }] });
    expect(state.status).toBe('cancelled');
    expect(await balance(buyer)).toBe(50_000);
    await expect(handle.executeUpdate(cancelUpdate, { args: [{ buyerId: buyer }] })).rejects.toThrow();
    expect(await lineRow(line.id)).toMatchObject({ status: 'cancelled' });
    seller.faults.downUntil = undefined;
  });
});

describe('SaaS provisioning: actions during polling, and our own faults', () => {
  it('a cancel sent during polling is answered within one poll interval with the final state and the refund', async () => {
    seller.faults.asyncNeverReady = true;
    try {
      const { line, handle, buyer } = await order();
      expect(await balance(buyer)).toBe(50_000 - 9900);
      await h.env.sleep(10 * MINUTE);
      expect((await handle.query(provisionStateQuery)).status).toBe('polling');
      expect(await lineRow(line.id)).toMatchObject({ provisioning: 'polling' });
      const before = await h.env.currentTimeMs();
      const answer = await handle.executeUpdate(cancelUpdate, { args: [{ buyerId: buyer }] });
      const took = (await h.env.currentTimeMs()) - before;
      expect(took).toBeLessThan(h.config.PROVISION_POLL_INTERVAL_MS);
      expect(answer).toMatchObject({ status: 'cancelled', refundedCents: 9900 });
      expect(await balance(buyer)).toBe(50_000);
      expect(await lineRow(line.id)).toMatchObject({ status: 'cancelled', provisioning: 'done' });
      expect(await handle.result()).toMatchObject({ status: 'cancelled' });
      await recordHistory(handle, 'cancelled-while-polling');
    } finally {
      seller.faults.asyncNeverReady = undefined;
    }
  });

  it('the worker\'s encryption key missing: no call, no interface message, nothing told to the seller, no delisting count; the line is stuck for operators, and an operator retry delivers once the key is back', async () => {
    // A worker started without MASTER_KEY (and without a cache, so a second worker can take over).
    await h.stopWorker();
    const broken: Worker = await createWorker({
      connection: h.env.nativeConnection, namespace: 'default', taskQueue: h.config.TEMPORAL_TASK_QUEUE, db: h.db,
      config: { ...h.config, MASTER_KEY: undefined }, workflowBundle: await workflowBundle(), maxCachedWorkflows: 0,
    });
    const running = broken.run();
    const stopBroken = async () => { if (broken.getState() === 'RUNNING') broken.shutdown(); await running; };
    try {
      const calls = seller.received.length;
      const { line, handle } = await order();
      await until(async () => (await handle.query(provisionStateQuery)).status === 'stuck', 'stuck');

      const state = await handle.query(provisionStateQuery);
      expect(state).toMatchObject({ status: 'stuck', attempts: 0, stuck: { step: 'callNewInstance', failureType: OUR_FAULT } });
      expect(state.stuck!.message).toContain('MASTER_KEY');
      expect((await handle.describe()).typedSearchAttributes.get(STUCK_SA.stuck)).toBe(true);
      await until(async () => (await lineRow(line.id)).provisioning === 'stuck', 'the read model');
      const [row] = await h.db.select().from(stuckProcesses).where(eq(stuckProcesses.workflowId, handle.workflowId));
      expect(row).toMatchObject({ workflowType: 'saasProvision', subjectId: line.id, failureType: OUR_FAULT, resolvedAt: null });
      await until(async () => h.inbox.mails.some((m) => m.subject.includes('stuck') && m.subject.includes(handle.workflowId)), 'the supervisors\' alert');
      // The seller's record is untouched.
      expect(seller.received.length).toBe(calls);
      expect(await h.db.select().from(interfaceMessages).where(eq(interfaceMessages.orderLineId, line.id))).toEqual([]);
      expect(await h.db.select().from(notifications).where(like(notifications.dedupeKey, `${line.id}:%`))).toEqual([]);
      expect(h.inbox.mails.filter((m) => m.to.includes('cs@seller.example.com') && m.subject.includes(line.id))).toEqual([]);
      expect(await lineRow(line.id)).toMatchObject({ status: 'processing', interfaceFailed: false });

      // The key comes back with a new worker; the operator retries.
      await stopBroken();
      await h.startWorker();
      expect(await handle.executeUpdate(retryStuckUpdate, { args: [{ operatorId: h.operator }] })).toEqual({ resolved: true, stuck: null });
      const done = await handle.result();
      expect(done).toMatchObject({ status: 'delivered', attempts: 1, stuck: null });
      expect(await lineRow(line.id)).toMatchObject({ status: 'delivered', provisioning: 'done', interfaceFailed: false });
      expect((await h.db.select().from(stuckProcesses).where(eq(stuckProcesses.workflowId, handle.workflowId)))[0]).toMatchObject({ resolvedBy: h.operator });
      expect(await h.db.select().from(interfaceMessages).where(and(eq(interfaceMessages.orderLineId, line.id), eq(interfaceMessages.outcome, 'success')))).toHaveLength(1);
      await expectHistoryWithin(h.env.client, handle, 200);
      await recordHistory(handle, 'stuck-without-key-then-retried');
    } finally {
      await stopBroken();
    }
  });
});
