import { heartbeat } from '@temporalio/activity';
import { and, asc, desc, eq, gt, gte, inArray, notInArray, sql } from 'drizzle-orm';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { dialTestCases, dialTestRuns, products } from '../db/schema';
import { newId } from '../domain/ids';
import { shanghaiDate } from '../domain/working-days';
import { createSellerClient, type SellerClient } from '../seller-client';

/** Consecutive days with a failed dial test after which trading in the product is frozen (spec §3). */
export const FREEZE_AFTER_FAILING_DAYS = 5;
/** Saved cases per product at most: the newest are kept, and a round replays no more than these. */
export const MAX_DIAL_CASES = 10;
/** How far back a failing-day streak may reach across days on which no round ran. */
const STREAK_LOOKBACK_DAYS = 30;

type Product = typeof products.$inferSelect;
export interface CaseResult { passed: boolean; resultCode?: string; error?: string; latencyMs: number }

/**
 * One debug call (testFlag=1) to a product's production interface, recorded as an interface
 * message. A case passes on HTTP 200 with 000000 (or 000004 for newInstance, "provisioning").
 * A product without a production interface fails the case; our own faults (no master key) throw.
 */
export async function runDebugCall(sellers: SellerClient, product: Product, activity: 'newInstance' | 'queryInstance', body: Record<string, string>, at: Date): Promise<CaseResult> {
  if (!product.productionUrl || !product.accessKeyEnc) return { passed: false, error: 'no production interface', latencyMs: 0 };
  const r = await sellers.call({
    productId: product.id, activity, body: { ...body, testFlag: '1', ...(activity === 'newInstance' ? { businessId: newId('B', 24) } : {}) },
    judge: (reply) => {
      if (reply.fault) return { outcome: 'retryable', error: reply.fault.message };
      const passed = reply.resultCode === '000000' || (activity === 'newInstance' && reply.resultCode === '000004');
      return passed ? { outcome: 'success' } : { outcome: 'retryable', error: `result code ${reply.resultCode ?? 'missing'}` };
    },
    record: { dedupeKey: `debug:${product.id}:${newId('', 16)}`, at },
  });
  return { passed: r.outcome === 'success', ...(r.resultCode ? { resultCode: r.resultCode } : {}), ...(r.error ? { error: r.error } : {}), latencyMs: r.latencyMs };
}

/**
 * Saves a passing debug call as a dial-test case: the same call (activity and body) is kept once, and a
 * product keeps its newest MAX_DIAL_CASES. Returns the case id (the existing one for a repeat).
 */
export async function saveDialCase(db: Db, productId: string, activity: 'newInstance' | 'queryInstance', body: Record<string, string>): Promise<string> {
  return db.transaction(async (tx) => {
    // One product's saves in turn, so two equal calls at once keep one case.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`dial-cases:${productId}`}))`);
    const same = await tx.select({ id: dialTestCases.id }).from(dialTestCases)
      .where(and(eq(dialTestCases.productId, productId), eq(dialTestCases.activity, activity), sql`${dialTestCases.body} = ${JSON.stringify(body)}::jsonb`));
    if (same[0]) return same[0].id;
    const id = newId('DC', 14);
    await tx.insert(dialTestCases).values({ id, productId, activity, body });
    const keep = tx.select({ id: dialTestCases.id }).from(dialTestCases).where(eq(dialTestCases.productId, productId))
      .orderBy(desc(dialTestCases.createdAt), desc(dialTestCases.id)).limit(MAX_DIAL_CASES);
    await tx.delete(dialTestCases).where(and(eq(dialTestCases.productId, productId), notInArray(dialTestCases.id, keep)));
    return id;
  });
}

/**
 * The product's failing-day streak as of `at`: Asia/Shanghai days with a failed run, counted back from
 * that day over the days on which the product was dialed. A day with only passing runs ends it; a day on
 * which no round ran (ours: a round that overlapped, an outage) neither counts nor ends it. At 5, trading
 * is frozen.
 */
async function judge(db: Db, productId: string, at: Date): Promise<{ failingDays: number; frozeNow: boolean }> {
  const today = shanghaiDate(at);
  const since = new Date(Date.parse(`${today}T00:00:00Z`) - STREAK_LOOKBACK_DAYS * 86_400_000).toISOString().slice(0, 10);
  const days = await db.select({ day: dialTestRuns.day, failed: sql<boolean>`bool_or(not ${dialTestRuns.passed})` }).from(dialTestRuns)
    .where(and(eq(dialTestRuns.productId, productId), gte(dialTestRuns.day, since), sql`${dialTestRuns.day} <= ${today}`))
    .groupBy(dialTestRuns.day).orderBy(desc(dialTestRuns.day));
  let failingDays = 0;
  for (const d of days) { if (!d.failed) break; failingDays++; }
  if (failingDays < FREEZE_AFTER_FAILING_DAYS) return { failingDays, frozeNow: false };
  const frozen = await db.update(products).set({ tradingFrozen: true, updatedAt: at })
    .where(and(eq(products.id, productId), eq(products.tradingFrozen, false))).returning({ id: products.id });
  return { failingDays, frozeNow: frozen.length > 0 };
}

export interface DebugCallInput { productId: string; callId: string; activity: 'newInstance' | 'queryInstance'; body: Record<string, string>; at: number }
export interface DebugCallResult { passed: boolean; resultCode: string | null; error: string | null; latencyMs: number; savedCaseId: string | null }

export function createDialTestActivities({ db, config }: { db: Db; config: Config }) {
  const sellers = createSellerClient({ db, config });
  return {
    /** One debug call; a pass saves its body as a dial-test case (keyed by the call, so once). */
    async debugCall(a: DebugCallInput): Promise<DebugCallResult> {
      const [product] = await db.select().from(products).where(eq(products.id, a.productId));
      if (!product) return { passed: false, resultCode: null, error: 'no such product', latencyMs: 0, savedCaseId: null };
      const r = await runDebugCall(sellers, product, a.activity, a.body, new Date(a.at));
      let savedCaseId: string | null = null;
      if (r.passed) {
        // The same call saved twice (a retried activity too) is one case; a product keeps its newest MAX_DIAL_CASES.
        savedCaseId = await saveDialCase(db, product.id, a.activity, a.body);
      }
      return { passed: r.passed, resultCode: r.resultCode ?? null, error: r.error ?? null, latencyMs: r.latencyMs, savedCaseId };
    },

    /** One page of the products the dial tests cover (SaaS, on sale), in id order after `after`. */
    async listDialPage(a: { after: string | null; limit: number }): Promise<string[]> {
      const rows = await db.select({ id: products.id }).from(products)
        .where(and(eq(products.status, 'on_sale'), eq(products.deliveryType, 'saas'), a.after ? gt(products.id, a.after) : undefined))
        .orderBy(asc(products.id)).limit(a.limit);
      return rows.map((r) => r.id);
    },

    /**
     * One product in a round (version 2): replays its newest saved cases (at most MAX_DIAL_CASES), a
     * heartbeat after each, records the run once per round (a retried activity finds it), then judges the
     * streak. Null when the product has no saved case (nothing to judge). Our own faults (no master key)
     * throw: the round skips the product and no failing day is counted against it.
     */
    async dialAndJudge(a: { productId: string; roundId: string; at: string }): Promise<{ merchantId: string; passed: boolean; failures: string[]; failingDays: number; frozeNow: boolean } | null> {
      const at = new Date(a.at);
      const [product] = await db.select().from(products).where(eq(products.id, a.productId));
      if (!product) return null;
      const dedupeKey = `${a.roundId}:${a.productId}`;
      let [run] = await db.select().from(dialTestRuns).where(eq(dialTestRuns.dedupeKey, dedupeKey));
      if (!run) {
        const cases = await db.select().from(dialTestCases).where(eq(dialTestCases.productId, a.productId))
          .orderBy(desc(dialTestCases.createdAt), desc(dialTestCases.id)).limit(MAX_DIAL_CASES);
        if (cases.length === 0) return null;
        const details = [];
        for (const [i, c] of cases.entries()) {
          const r = await runDebugCall(sellers, product, c.activity, c.body, at);
          details.push({ caseId: c.id, passed: r.passed, ...(r.error ? { error: r.error } : {}) });
          heartbeat(i + 1);
        }
        const passed = details.every((d) => d.passed);
        await db.insert(dialTestRuns).values({ dedupeKey, productId: a.productId, day: shanghaiDate(at), passed, details, at }).onConflictDoNothing();
        [run] = await db.select().from(dialTestRuns).where(eq(dialTestRuns.dedupeKey, dedupeKey));
      }
      const verdict = await judge(db, a.productId, at);
      return { merchantId: product.merchantId, passed: run!.passed, failures: run!.details.filter((d) => !d.passed).map((d) => d.error ?? 'failed'), ...verdict };
    },

    /** Version 1's list of every product at once (workflows/legacy/dial-tests-v1.ts). */
    async listDialTargets(): Promise<string[]> {
      const rows = await db.select({ id: products.id }).from(products).where(and(eq(products.status, 'on_sale'), eq(products.deliveryType, 'saas')));
      return rows.map((r) => r.id);
    },

    /** Version 1's replay of a product's saved cases; a run with no saved case is not recorded (nothing to judge). */
    async dialProduct(a: { productId: string; at: number; runKey: string }): Promise<{ passed: boolean; failures: string[] } | null> {
      const [product] = await db.select().from(products).where(eq(products.id, a.productId));
      const cases = product ? await db.select().from(dialTestCases).where(eq(dialTestCases.productId, a.productId)).orderBy(desc(dialTestCases.createdAt)).limit(MAX_DIAL_CASES) : [];
      if (!product || cases.length === 0) return null;
      const dedupeKey = `${a.runKey}:${a.productId}`;
      const [done] = await db.select().from(dialTestRuns).where(eq(dialTestRuns.dedupeKey, dedupeKey));
      if (done) return { passed: done.passed, failures: done.details.filter((d) => !d.passed).map((d) => d.error ?? 'failed') };
      const details = [];
      for (const c of cases) {
        const r = await runDebugCall(sellers, product, c.activity, c.body, new Date(a.at));
        details.push({ caseId: c.id, passed: r.passed, ...(r.error ? { error: r.error } : {}) });
      }
      const passed = details.every((d) => d.passed);
      await db.insert(dialTestRuns).values({ dedupeKey, productId: a.productId, day: shanghaiDate(new Date(a.at)), passed, details, at: new Date(a.at) }).onConflictDoNothing();
      return { passed, failures: details.filter((d) => !d.passed).map((d) => d.error ?? 'failed') };
    },

    /** Version 1's separate judgement (workflows/legacy/dial-tests-v1.ts). */
    async judgeProduct(a: { productId: string; at: number }): Promise<{ failingDays: number; frozeNow: boolean }> {
      return judge(db, a.productId, new Date(a.at));
    },

    async merchantOf(a: { productIds: string[] }): Promise<Record<string, string>> {
      if (a.productIds.length === 0) return {};
      const rows = await db.select({ id: products.id, merchantId: products.merchantId }).from(products).where(inArray(products.id, a.productIds));
      return Object.fromEntries(rows.map((r) => [r.id, r.merchantId]));
    },
  };
}

export type DialTestActivities = ReturnType<typeof createDialTestActivities>;
