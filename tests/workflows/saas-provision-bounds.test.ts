import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrderService } from '../../api/order-service';
import { interfaceMessages, orderLines } from '../../db/schema';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { provisionStateQuery, restartUpdate, saasProvisionWorkflowId } from '../../workflows/saas-provision-messages';
import { seedSaasProduct } from '../support/catalog';
import { expectHistoryWithin, report } from '../support/history';
import { recordHistory } from '../support/replay';
import { HOUR, startReviewHarness, type ReviewHarness } from '../support/review-harness';

/** The written bound of one saasProvision run (docs/saas-provision.md), asserted in each worst case below. */
export const PROVISION_HISTORY_BOUND = 1_200;
const ACCESS_KEY = 'bounds-seller-access-key';
const MINUTE = 60_000;

let h: ReviewHarness;
let seller: ReferenceSeller;
let silent: Server;
const sockets: Socket[] = [];
beforeAll(async () => {
  // A short call timeout keeps the silent seller's 60 attempts quick in wall-clock time; the windows are real.
  h = await startReviewHarness({ SELLER_CALL_TIMEOUT_MS: '200' });
  seller = await startReferenceSeller({ accessKey: ACCESS_KEY, port: 0 });
  // A seller that takes the connection and never answers.
  silent = createServer((s) => { sockets.push(s); s.on('error', () => undefined); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  await h.startWorker();
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent?.close(r));
  await seller?.close();
  await h?.close();
});

async function order(productionUrl = seller.url) {
  const seed = await seedSaasProduct(h.db, { productionUrl, accessKey: ACCESS_KEY });
  const { lines } = await createOrderService({ db: h.db, temporal: h.env.client, config: h.config }).place(seed.buyer, [{ skuId: seed.skuId }]);
  const line = lines[0]!;
  const handle = h.env.client.workflow.getHandle(saasProvisionWorkflowId(line.id));
  const { startTime, runId } = await handle.describe();
  return { ...seed, line, handle, startedAt: startTime.getTime(), firstRunId: runId };
}
const messages = (lineId: string, activity: string) =>
  h.db.select().from(interfaceMessages).where(and(eq(interfaceMessages.orderLineId, lineId), eq(interfaceMessages.activity, activity)));
const line = async (id: string) => (await h.db.select().from(orderLines).where(eq(orderLines.id, id)))[0]!;
/** The automatic phase ended (the line waits for a person) at start + 3 h, to the second. */
const expectEndsAt3h = (waitingSince: string | null, startedAt: number) => {
  expect(waitingSince).not.toBeNull();
  expect(Math.abs(Date.parse(waitingSince!) - (startedAt + 3 * HOUR))).toBeLessThan(2_000);
};

describe('saas-provision worst cases: one 3-hour window, flat polling, a bounded history', () => {
  it('59 failures, then 000004 at 177 min and never ready: polling counts against the window, which ends at 3 h', async () => {
    seller.faults.resultCodes = [...Array<string>(59).fill('000005'), '000004'];
    seller.faults.asyncNeverReady = true;
    try {
      const { line: l, handle, startedAt } = await order();
      await h.env.sleep(3 * HOUR + 30 * MINUTE);
      const state = await handle.query(provisionStateQuery);
      expect(state).toMatchObject({ status: 'interface_failed', attempts: 60 });
      expectEndsAt3h(state.waitingSince, startedAt);
      expect(await line(l.id)).toMatchObject({ status: 'processing', provisioning: 'interface_failed' });
      // Polls every 30 s from 177.5 to 180 min, each recorded, none in history.
      const polls = await messages(l.id, 'queryInstance');
      expect(polls.length).toBeGreaterThanOrEqual(4);
      expect(polls.length).toBeLessThanOrEqual(6);
      const lengths = await expectHistoryWithin(h.env.client, handle, PROVISION_HISTORY_BOUND);
      report(`saasProvision 59 failures + 000004 at 177 min: ${lengths.join(', ')} events`);
      await recordHistory(handle, 'failures-then-async-window-ends');
    } finally {
      seller.faults.resultCodes = undefined;
      seller.faults.asyncNeverReady = undefined;
    }
  });

  it('three restarts, each polling for the whole window: each restart continues as new, every run stays under the bound', async () => {
    seller.faults.asyncNeverReady = true;
    try {
      const { line: l, handle, startedAt, firstRunId } = await order();
      await h.env.sleep(3 * HOUR + MINUTE);
      const first = await handle.query(provisionStateQuery);
      expect(first).toMatchObject({ status: 'interface_failed', attempts: 1 });
      expectEndsAt3h(first.waitingSince, startedAt);
      for (let i = 1; i <= 3; i++) {
        const answered = await handle.executeUpdate(restartUpdate, { args: [{ sellerId: 'seller' }] });
        // The restart answers with its own effect: the seller took the call and polling began.
        expect(answered).toMatchObject({ status: 'polling', restarts: i, attempts: 1 + i });
        const restartedAt = await h.env.currentTimeMs();
        await h.env.sleep(3 * HOUR + MINUTE);
        const after = await handle.query(provisionStateQuery);
        expect(after).toMatchObject({ status: 'interface_failed', restarts: i });
        expectEndsAt3h(after.waitingSince, restartedAt);
      }
      expect(await line(l.id)).toMatchObject({ status: 'processing', provisioning: 'interface_failed', interfaceFailed: false });
      const polls = await messages(l.id, 'queryInstance');
      expect(polls.length).toBeGreaterThan(4 * 350);
      const lengths = await expectHistoryWithin(h.env.client, handle, PROVISION_HISTORY_BOUND, firstRunId);
      expect(lengths).toHaveLength(4);
      report(`saasProvision three restarts polling 3 h each: ${lengths.join(', ')} events per run (${polls.length} polls)`);
    } finally {
      seller.faults.asyncNeverReady = undefined;
    }
  });

  it('a seller that never answers: 60 timed-out attempts, the window ends at 3 h', async () => {
    const { line: l, handle, startedAt } = await order(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/saasproduce`);
    await h.env.sleep(3 * HOUR + 10 * MINUTE);
    const state = await handle.query(provisionStateQuery);
    expect(state).toMatchObject({ status: 'interface_failed', attempts: 60 });
    expect(state.lastError).toContain('timeout');
    expectEndsAt3h(state.waitingSince, startedAt);
    expect((await messages(l.id, 'newInstance')).every((m) => m.error?.startsWith('timeout'))).toBe(true);
    const lengths = await expectHistoryWithin(h.env.client, handle, PROVISION_HISTORY_BOUND);
    report(`saasProvision silent seller: ${lengths.join(', ')} events`);
  });
});
