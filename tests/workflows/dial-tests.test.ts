import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialTestCases, dialTestRuns, products } from '../../db/schema';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { seedSaasProduct } from '../support/catalog';
import { recordHistory } from '../support/replay';
import { addDays, cst, HOUR, startReviewHarness, type ReviewHarness } from '../support/review-harness';

const KEY = 'dial-test-seller-access-key';
let h: ReviewHarness;
let down: ReferenceSeller;
let flaky: ReferenceSeller;
beforeAll(async () => {
  h = await startReviewHarness();
  down = await startReferenceSeller({ accessKey: KEY, port: 0 });
  flaky = await startReferenceSeller({ accessKey: KEY, port: 0 });
  await h.startWorker();
});
afterAll(async () => { await down?.close(); await flaky?.close(); await h?.close(); });

async function productWithCase(url: string) {
  const seed = await seedSaasProduct(h.db, { productionUrl: url, accessKey: KEY });
  await h.db.insert(dialTestCases).values({ id: `DC${seed.productId}`, productId: seed.productId, activity: 'newInstance', body: { orderId: 'CSDEBUG0000000001', orderLineId: 'CSDEBUG0000000001-000001' } });
  return seed.productId;
}
/**
 * Runs one round as the Schedule would, waiting for it without `result()`: awaiting a result lets the
 * time-skipping server run its clock freely, and with no timer pending anywhere it would leap years ahead.
 */
async function runRound(...workflowIds: string[]) {
  // Several ids: rounds that overlap, as the Schedule allows.
  const handles = await Promise.all(workflowIds.map((workflowId) => h.env.client.workflow.start('dialTestRound', { taskQueue: h.config.TEMPORAL_TASK_QUEUE, workflowId, args: [{}] })));
  for (let i = 0; i < 200; i++) {
    const states = await Promise.all(handles.map(async (handle) => (await handle.describe()).status.name));
    if (states.every((st) => st === 'COMPLETED')) return;
    const bad = states.find((st) => st !== 'RUNNING' && st !== 'COMPLETED');
    if (bad) throw new Error(`a dial-test round of ${workflowIds.join(', ')} ended ${bad}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`dial-test rounds ${workflowIds.join(', ')} did not finish`);
}
const frozen = async (id: string) => (await h.db.select().from(products).where(eq(products.id, id)))[0]!.tradingFrozen;

describe('dial tests on the time-skipping server', () => {
  it('freezes trading after 5 consecutive failing days, and a passing day restarts the count', async () => {
    // Only these products are on sale in this database.
    const alwaysDown = await productWithCase(down.url);
    const upOnDay2 = await productWithCase(flaky.url);
    down.faults.downUntil = Number.MAX_SAFE_INTEGER;
    flaky.faults.downUntil = Number.MAX_SAFE_INTEGER;
    const first = addDays(new Date((await h.env.currentTimeMs()) + 8 * HOUR).toISOString().slice(0, 10), 1);

    for (let day = 0; day < 5; day++) {
      for (const hour of [9, 15]) {
        await h.skipTo(cst(addDays(first, day), hour));
        flaky.faults.downUntil = day === 2 ? undefined : Number.MAX_SAFE_INTEGER;
        await runRound(`dial-${day}-${hour}`);
        // Frozen by the first failing round of the fifth day, not a round earlier.
        expect(await frozen(alwaysDown)).toBe(day === 4);
      }
    }
    // The flaky product passed all of day 2: its streak restarted, so days 3 and 4 leave it trading.
    const runs = await h.db.select().from(dialTestRuns).where(eq(dialTestRuns.productId, upOnDay2));
    expect(runs).toHaveLength(10);
    expect(runs.filter((r) => r.passed).map((r) => r.day)).toEqual([addDays(first, 2), addDays(first, 2)]);
    expect(await frozen(upOnDay2)).toBe(false);
    expect(h.inbox.mails.filter((m) => m.subject.includes(alwaysDown) && m.subject.includes('frozen'))).toHaveLength(1);
    expect(h.inbox.mails.filter((m) => m.subject.includes(alwaysDown) && m.subject.includes('Dial test failed'))).toHaveLength(10);
    await recordHistory(h.env.client.workflow.getHandle('dial-4-15'), 'failing-and-frozen');
    await recordHistory(h.env.client.workflow.getHandle('dial-2-9'), 'one-passes-one-fails');
  });

  it('rounds may overlap, and a day on which no round ran neither counts nor ends the streak', async () => {
    const p = await productWithCase(down.url);
    down.faults.downUntil = Number.MAX_SAFE_INTEGER;
    const start = addDays(new Date((await h.env.currentTimeMs()) + 8 * HOUR).toISOString().slice(0, 10), 1);
    // Failing days 0, 1, (no round on day 2), 3 with two overlapping rounds, 4, 5: the fifth failing day is day 5.
    for (const day of [0, 1, 3, 4, 5]) {
      await h.skipTo(cst(addDays(start, day), 9));
      if (day === 3) await runRound('overlap-a', 'overlap-b');
      else await runRound(`streak-${day}`);
      expect(await frozen(p)).toBe(day === 5);
    }
    const runs = await h.db.select().from(dialTestRuns).where(eq(dialTestRuns.productId, p));
    expect(runs.filter((r) => r.day === addDays(start, 3))).toHaveLength(2);
    expect(new Set(runs.map((r) => r.day)).size).toBe(5);
    await recordHistory(h.env.client.workflow.getHandle('overlap-a'), 'v2-one-page-overlapping');
  });
});
