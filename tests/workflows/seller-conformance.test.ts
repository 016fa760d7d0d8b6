/**
 * The seller-conformance workflow on the time-skipping server with the real worker, PostgreSQL and
 * reference sellers: passing and failing runs, the seller told of failures, and our own fault (a key
 * that does not decrypt) holding the run in `stuck` until an operator retries it. History bounds asserted.
 */
import { and, eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConformanceIntake } from '../../api/conformance-intake';
import { conformanceRuns, notifications, products, stuckProcesses } from '../../db/schema';
import { createSecretBox } from '../../domain/secret-box';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { sellerConformanceWorkflowId } from '../../workflows/seller-conformance-messages';
import { retryStuckUpdate, STUCK_SA, stuckQuery } from '../../workflows/stuck-messages';
import { seedSaasProduct, TEST_MASTER_KEY } from '../support/catalog';
import { expectHistoryWithin } from '../support/history';
import { recordHistory } from '../support/replay';
import { DAY, startReviewHarness, type ReviewHarness } from '../support/review-harness';

const AK = 'conformance-workflow-key-0123';
/** A run that is never stuck: start, the kit, the seller's message, completion, with their workflow tasks. */
const BOUND = 20;
/** Stuck: entering it (read model, alert) and leaving it, plus a timer, the kit's attempt and their workflow tasks per re-check. */
const STUCK_BOUND = 40;
const PER_RECHECK = 13;

let h: ReviewHarness;
let good: ReferenceSeller;
let careless: ReferenceSeller;
beforeAll(async () => {
  h = await startReviewHarness({ CONFORMANCE_POLL_WINDOW_MS: '1000', CONFORMANCE_POLL_INTERVAL_MS: '100' });
  good = await startReferenceSeller({ accessKey: AK, port: 0 });
  careless = await startReferenceSeller({ accessKey: AK, port: 0, faults: { noNonceCheck: true } });
  await h.startWorker();
});
afterAll(async () => { await good?.close(); await careless?.close(); await h?.close(); });

async function requestRun(url: string, o: { masterKey?: string } = {}) {
  const seed = await seedSaasProduct(h.db, { productionUrl: url, accessKey: AK });
  if (o.masterKey) await h.db.update(products).set({ accessKeyEnc: createSecretBox(o.masterKey).seal(AK) }).where(eq(products.id, seed.productId));
  const [product] = await h.db.select().from(products).where(eq(products.id, seed.productId));
  const { run } = await createConformanceIntake({ db: h.db, temporal: h.env.client, config: h.config }).request(product!, seed.seller);
  return { seed, run, handle: h.env.client.workflow.getHandle(sellerConformanceWorkflowId(run.id)) };
}
const mailsAbout = (runId: string) => h.inbox.mails.filter((m) => m.subject.includes(runId));
const until = async (ok: () => Promise<boolean> | boolean, what: string) => {
  for (let i = 0; i < 200; i++) { if (await ok()) return; await new Promise((r) => setTimeout(r, 50)); }
  throw new Error(`timed out waiting for ${what}`);
};

describe('seller conformance runs on the time-skipping server', () => {
  it('a passing run stores its report and records it on the product; nobody is messaged', async () => {
    const { seed, run, handle } = await requestRun(good.url);
    expect(await handle.result()).toEqual({ status: 'passed', failures: [] });
    const [row] = await h.db.select().from(conformanceRuns).where(eq(conformanceRuns.id, run.id));
    expect(row).toMatchObject({ status: 'passed', options: { timeoutMs: 5000, pollWindowMs: 1000, pollIntervalMs: 100, periodic: true } });
    expect((await h.db.select().from(products).where(eq(products.id, seed.productId)))[0]!.conformanceRunId).toBe(run.id);
    expect(mailsAbout(run.id)).toEqual([]);
    await expectHistoryWithin(h.env.client, handle, BOUND);
    await recordHistory(handle, 'passed');
  });

  it('a failing run tells the seller which checks failed and why', async () => {
    const { seed, run, handle } = await requestRun(careless.url);
    const outcome = await handle.result();
    expect(outcome.status).toBe('failed');
    expect(outcome.failures).toEqual([expect.stringMatching(/^replayed-nonce: NOT refused/)]);
    await until(() => mailsAbout(run.id).length > 0, 'the seller\'s e-mail');
    expect(mailsAbout(run.id)[0]!.to).toContain('cs@seller.example.com');
    // The same text goes to the seller's accounts as an in-site message.
    const inSiteOf = () => h.db.select().from(notifications).where(and(eq(notifications.recipientPrincipalId, seed.seller), eq(notifications.channel, 'inapp'), like(notifications.subject, `%${run.id}%`)));
    await until(async () => (await inSiteOf()).length > 0, 'the in-site message');
    const inSite = await inSiteOf();
    expect(inSite.map((n) => n.recipientPrincipalId)).toEqual([seed.seller]);
    expect(inSite[0]!.body).toContain('- replayed-nonce: NOT refused');
    expect((await h.db.select().from(products).where(eq(products.id, seed.productId)))[0]!.conformanceRunId).toBeNull();
    await expectHistoryWithin(h.env.client, handle, BOUND);
    await recordHistory(handle, 'failed-seller-told');
  });

  it('our own fault (a key that does not decrypt) holds the run in stuck for a day without a word to the seller; an operator retry after the fix runs it', async () => {
    const { seed, run, handle } = await requestRun(good.url, { masterKey: 'b'.repeat(64) });
    await until(async () => (await handle.query(stuckQuery)) !== null, 'stuck');
    expect(await handle.query(stuckQuery)).toMatchObject({ step: 'runConformanceKit', failureType: 'MarketplaceFault' });
    expect((await handle.describe()).typedSearchAttributes.get(STUCK_SA.stuck)).toBe(true);
    const [stuck] = await h.db.select().from(stuckProcesses).where(eq(stuckProcesses.workflowId, handle.workflowId));
    expect(stuck).toMatchObject({ workflowType: 'sellerConformance', subjectId: run.id, resolvedAt: null });
    expect(stuck!.message).toMatch(/does not decrypt/);
    await until(() => h.inbox.mails.some((m) => m.to.includes('supervisor@marketplace.local') && m.subject.includes(handle.workflowId)), 'the supervisors\' alert');
    expect(good.received.filter((c) => (c.body as { orderId?: string }).orderId?.includes(run.id))).toEqual([]);

    await h.env.sleep(DAY);
    const { rechecks } = (await handle.query(stuckQuery))!;
    expect(rechecks).toBeGreaterThanOrEqual(8);
    const [length] = await expectHistoryWithin(h.env.client, handle, STUCK_BOUND + PER_RECHECK * rechecks);
    expect(length).toBeGreaterThan(BOUND + 10 * rechecks); // the bound is not loose: each re-check costs at least 10 events

    await h.db.update(products).set({ accessKeyEnc: createSecretBox(TEST_MASTER_KEY).seal(AK) }).where(eq(products.id, seed.productId));
    expect(await handle.executeUpdate(retryStuckUpdate, { args: [{ operatorId: h.operator }] })).toEqual({ resolved: true, stuck: null });
    expect(await handle.result()).toEqual({ status: 'passed', failures: [] });
    expect(mailsAbout(run.id).filter((m) => m.to.includes('cs@seller.example.com'))).toEqual([]);
    await recordHistory(handle, 'stuck-then-retried');
  });
});
