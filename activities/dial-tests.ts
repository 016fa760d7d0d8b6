import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { dialTestCases, dialTestRuns, products } from '../db/schema';
import { newId } from '../domain/ids';
import { shanghaiDate } from '../domain/working-days';
import { createSellerClient, type SellerClient } from '../seller-client';

/** Consecutive days with a failed dial test after which trading in the product is frozen (spec §3). */
export const FREEZE_AFTER_FAILING_DAYS = 5;

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

export function createDialTestActivities({ db, config }: { db: Db; config: Config }) {
  const sellers = createSellerClient({ db, config });
  return {
    /** Products the dial tests cover: on sale and with a production interface. */
    async listDialTargets(): Promise<string[]> {
      const rows = await db.select({ id: products.id }).from(products).where(and(eq(products.status, 'on_sale'), eq(products.deliveryType, 'saas')));
      return rows.map((r) => r.id);
    },

    /** Replays a product's saved cases once; a run with no saved case is not recorded (nothing to judge). */
    async dialProduct(a: { productId: string; at: number; runKey: string }): Promise<{ passed: boolean; failures: string[] } | null> {
      const [product] = await db.select().from(products).where(eq(products.id, a.productId));
      const cases = product ? await db.select().from(dialTestCases).where(eq(dialTestCases.productId, a.productId)) : [];
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

    /**
     * Counts the Asia/Shanghai days, back from today, on each of which the product failed a dial test;
     * a day without a failure (or without a run) ends the streak. At 5, trading is frozen.
     */
    async judgeProduct(a: { productId: string; at: number }): Promise<{ failingDays: number; frozeNow: boolean }> {
      const runs = await db.select({ day: dialTestRuns.day, passed: dialTestRuns.passed }).from(dialTestRuns)
        .where(eq(dialTestRuns.productId, a.productId)).orderBy(desc(dialTestRuns.day)).limit(200);
      const failedDays = new Set(runs.filter((r) => !r.passed).map((r) => r.day));
      let day = shanghaiDate(new Date(a.at));
      let failingDays = 0;
      while (failedDays.has(day)) {
        failingDays++;
        day = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
      }
      if (failingDays < FREEZE_AFTER_FAILING_DAYS) return { failingDays, frozeNow: false };
      const frozen = await db.update(products).set({ tradingFrozen: true, updatedAt: new Date(a.at) })
        .where(and(eq(products.id, a.productId), eq(products.tradingFrozen, false))).returning({ id: products.id });
      return { failingDays, frozeNow: frozen.length > 0 };
    },

    async merchantOf(a: { productIds: string[] }): Promise<Record<string, string>> {
      if (a.productIds.length === 0) return {};
      const rows = await db.select({ id: products.id, merchantId: products.merchantId }).from(products).where(inArray(products.id, a.productIds));
      return Object.fromEntries(rows.map((r) => [r.id, r.merchantId]));
    },
  };
}

export type DialTestActivities = ReturnType<typeof createDialTestActivities>;
