import type { Worker } from '@temporalio/worker';
import { and, eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrderService } from '../../api/order-service';
import { interfaceMessages, notifications, orderLines, stuckProcesses } from '../../db/schema';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { createWorker } from '../../worker';
import { OUR_FAULT } from '../../seller-client/faults';
import {
  cancelUpdate, provisionStateQuery, saasProvisionWorkflowId,
} from '../../workflows/saas-provision-messages';
import { retryStuckUpdate, STUCK_SA } from '../../workflows/stuck-messages';
import { seedSaasProduct } from '../support/catalog';
import { balance } from '../support/ledger';
import { expectHistoryWithin } from '../support/history';
import { recordHistory } from '../support/replay';
import { startReviewHarness, workflowBundle, type ReviewHarness } from '../support/review-harness';

const ACCESS_KEY = 'faults-seller-access-key';
const MINUTE = 60_000;

let h: ReviewHarness;
let seller: ReferenceSeller;
beforeAll(async () => {
  h = await startReviewHarness();
  seller = await startReferenceSeller({ accessKey: ACCESS_KEY, port: 0 });
});
afterAll(async () => { await seller?.close(); await h?.close(); });

async function order() {
  const seed = await seedSaasProduct(h.db, { productionUrl: seller.url, accessKey: ACCESS_KEY, priceCents: 9900, balanceCents: 50_000 });
  const { lines } = await createOrderService({ db: h.db, temporal: h.env.client, config: h.config }).place(seed.buyer, [{ skuId: seed.skuId }]);
  return { ...seed, line: lines[0]!, handle: h.env.client.workflow.getHandle(saasProvisionWorkflowId(lines[0]!.id)) };
}
const until = async (pred: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 300; i++) { if (await pred()) return; await new Promise((r) => setTimeout(r, 50)); }
  throw new Error(`timed out waiting for ${what}`);
};
const lineRow = async (id: string) => (await h.db.select().from(orderLines).where(eq(orderLines.id, id)))[0]!;

describe('saas-provision: actions during polling, and our own faults', () => {
  it('a cancel sent during polling is answered within one poll interval with the final state and the refund', async () => {
    await h.startWorker();
    seller.faults.asyncNeverReady = true;
    try {
      const { line, handle, buyer } = await order();
      expect(await balance(h.db, buyer)).toBe(50_000 - 9900);
      await h.env.sleep(10 * MINUTE);
      expect((await handle.query(provisionStateQuery)).status).toBe('polling');
      expect(await lineRow(line.id)).toMatchObject({ provisioning: 'polling' });
      const before = await h.env.currentTimeMs();
      const answer = await handle.executeUpdate(cancelUpdate, { args: [{ buyerId: buyer }] });
      const took = (await h.env.currentTimeMs()) - before;
      expect(took).toBeLessThan(h.config.PROVISION_POLL_INTERVAL_MS);
      expect(answer).toMatchObject({ status: 'cancelled', refundedCents: 9900 });
      expect(await balance(h.db, buyer)).toBe(50_000);
      expect(await lineRow(line.id)).toMatchObject({ status: 'cancelled', provisioning: 'done' });
      expect(await handle.result()).toMatchObject({ status: 'cancelled' });
      await recordHistory(handle, 'cancelled-while-polling');
    } finally {
      seller.faults.asyncNeverReady = undefined;
      await h.stopWorker();
    }
  });

  it('the worker\'s encryption key missing: no call, no interface message, nothing told to the seller, no delisting count; the line is stuck for operators, and an operator retry delivers once the key is back', async () => {
    // A worker started without MASTER_KEY (and without a cache, so a second worker can take over).
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
