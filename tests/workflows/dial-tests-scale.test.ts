import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialTestCases, dialTestRuns, merchants, principals, products } from '../../db/schema';
import { createSecretBox } from '../../domain/secret-box';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { DIAL_PAGE, DIAL_RUN_HISTORY_BOUND, type DialRoundResult } from '../../workflows/dial-tests';
import { TEST_MASTER_KEY } from '../support/catalog';
import { expectHistoryWithin, report } from '../support/history';
import { startReviewHarness, type ReviewHarness } from '../support/review-harness';

// Marketplace scale: DIAL_SCALE_PRODUCTS products (3,000 by default) across three sellers on loopback, one of them down.
const PRODUCTS = Number(process.env.DIAL_SCALE_PRODUCTS ?? 3000);
const KEY = 'dial-scale-access-key';

let h: ReviewHarness;
const sellers: ReferenceSeller[] = [];
beforeAll(async () => {
  h = await startReviewHarness();
  for (let i = 0; i < 3; i++) sellers.push(await startReferenceSeller({ accessKey: KEY, port: 0 }));
  sellers[2]!.faults.downUntil = Number.MAX_SAFE_INTEGER;
  const sealed = createSecretBox(TEST_MASTER_KEY).seal(KEY);
  for (let i = 0; i < sellers.length; i++) {
    const owner = `PDIALOWNER${i}`;
    await h.db.insert(principals).values([{ id: owner, role: 'buyer', name: 'owner' }, { id: `PDIALSELLER${i}`, role: 'seller', name: 'seller', merchantId: `MDIAL${i}` }]);
    await h.db.insert(merchants).values({ id: `MDIAL${i}`, ownerPrincipalId: owner, status: 'active', onboardingApplicationId: 'MA-dial', profile: { customerServiceEmail: `cs${i}@seller.example.com` } });
  }
  // Every 10th product is on the seller that is down: 10% fail.
  const ids = Array.from({ length: PRODUCTS }, (_, n) => `PRDIAL${String(n).padStart(5, '0')}`);
  const seller = (n: number) => (n % 10 === 9 ? 2 : n % 2);
  for (let from = 0; from < PRODUCTS; from += 500) {
    const chunk = ids.slice(from, from + 500);
    await h.db.insert(products).values(chunk.map((id, k) => ({
      id, merchantId: `MDIAL${seller(from + k)}`, name: id, deliveryType: 'saas' as const, status: 'on_sale' as const, productionUrl: sellers[seller(from + k)]!.url, accessKeyEnc: sealed,
    })));
    await h.db.insert(dialTestCases).values(chunk.map((id) => ({ id: `DC${id}`, productId: id, activity: 'newInstance' as const, body: { orderId: 'CSDEBUG0000000001', orderLineId: 'CSDEBUG0000000001-000001' } })));
  }
  await h.startWorker();
}, 600_000);
afterAll(async () => { for (const s of sellers) await s.close(); await h?.close(); });

describe('dial tests at marketplace scale', () => {
  it(`a round over ${PRODUCTS} products pages with continue-as-new, dials each once, and keeps every run's history under its bound`, async () => {
    const started = Date.now();
    const handle = await h.env.client.workflow.start('dialTestRound', { taskQueue: h.config.TEMPORAL_TASK_QUEUE, workflowId: 'dial-scale-round', args: [{}] });
    // Waiting with describe(), not result(): a result would let the test server's clock run free.
    for (;;) {
      const { status } = await h.env.client.workflow.getHandle(handle.workflowId).describe();
      if (status.name === 'COMPLETED') break;
      if (status.name !== 'RUNNING') throw new Error(`the round ended ${status.name}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (Date.now() - started) / 1000;
    const result = (await h.env.client.workflow.getHandle(handle.workflowId).result()) as DialRoundResult;
    const failing = Math.floor(PRODUCTS / 10);
    expect(result).toMatchObject({ products: PRODUCTS, dialed: PRODUCTS, failed: failing, skipped: 0, frozen: 0 });
    const [{ n }] = await h.db.select({ n: count() }).from(dialTestRuns) as [{ n: number }];
    expect(n).toBe(PRODUCTS);
    expect((await h.db.select().from(dialTestRuns).where(eq(dialTestRuns.passed, false))).length).toBe(failing);

    const lengths = await expectHistoryWithin(h.env.client, handle, DIAL_RUN_HISTORY_BOUND, handle.firstExecutionRunId);
    expect(lengths).toHaveLength(Math.ceil(PRODUCTS / DIAL_PAGE) + (PRODUCTS % DIAL_PAGE === 0 ? 1 : 0));
    report(`dialTestRound over ${PRODUCTS} products (${failing} failing): ${seconds.toFixed(1)} s, ${(PRODUCTS / seconds).toFixed(0)} products/s; runs of ${Math.min(...lengths)}–${Math.max(...lengths)} events (bound ${DIAL_RUN_HISTORY_BOUND})`);
  });
});
