import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { isUniqueViolation } from '../db/errors';
import { markStarted, notStarted, SWEEP_GRACE_MS } from '../db/workflow-started';
import { conformanceRuns, products, skus } from '../db/schema';
import { newId } from '../domain/ids';
import { PROVISION_SA } from '../workflows/saas-provision-messages';
import { SA } from '../workflows/merchant-review-messages';
import { sellerConformanceWorkflowId, type ConformanceInput } from '../workflows/seller-conformance-messages';
import { conflict } from './problem';
import { withTemporalDeadline } from './updates';

type Run = typeof conformanceRuns.$inferSelect;
type Product = typeof products.$inferSelect;

/**
 * Conformance runs follow the intake rule (decision 008): the run's row is the durable record, its
 * workflow is started before the answer, and `sweep` starts any whose start did not happen.
 */
export function createConformanceIntake({ db, temporal, config, logger }: { db: Db; temporal: Client; config: Config; logger?: Logger | undefined }) {
  async function start(run: Run) {
    const input: ConformanceInput = { runId: run.id, productId: run.productId, merchantId: run.merchantId, ...run.options };
    try {
      await withTemporalDeadline(temporal, () => temporal.workflow.start('sellerConformance', {
        workflowId: sellerConformanceWorkflowId(run.id), taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `Seller conformance run ${run.id} of product ${run.productId}`,
        typedSearchAttributes: [{ key: PROVISION_SA.productId, value: run.productId }, { key: SA.merchantId, value: run.merchantId }],
      }));
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    await markStarted(db, conformanceRuns, run.id, new Date());
  }

  return {
    start,

    /**
     * A new run on a SaaS product, or the one already running (one at a time per product, so a
     * retried request does not start a second). `created` says which.
     */
    async request(product: Product, requestedBy: string): Promise<{ run: Run; created: boolean }> {
      if (product.deliveryType !== 'saas' || !product.productionUrl) throw conflict(`product ${product.id} has no SaaS production interface to check`);
      const periodic = (await db.select({ id: skus.id }).from(skus)
        .where(and(eq(skus.productId, product.id), inArray(skus.chargingMode, ['yearly', 'monthly'])))).length > 0;
      const options = { timeoutMs: config.SELLER_CALL_TIMEOUT_MS, pollWindowMs: config.CONFORMANCE_POLL_WINDOW_MS, pollIntervalMs: config.CONFORMANCE_POLL_INTERVAL_MS, periodic };
      const running = async () => (await db.select().from(conformanceRuns).where(and(eq(conformanceRuns.productId, product.id), eq(conformanceRuns.status, 'running'))))[0];
      const existing = await running();
      if (existing) return { run: existing, created: false };
      let run: Run;
      try {
        [run] = (await db.insert(conformanceRuns).values({
          id: newId('CR', 14), productId: product.id, merchantId: product.merchantId, requestedBy, status: 'running', options,
        }).returning()) as [Run];
      } catch (e) {
        // Two requests at once: the partial unique index lets one insert; the other gets that run.
        if (isUniqueViolation(e)) { const other = await running(); if (other) return { run: other, created: false }; }
        throw e;
      }
      await start(run).catch((e: unknown) =>
        logger?.warn({ runId: run.id, err: (e as Error).message }, 'conformance run not started; the sweep starts it'));
      return { run, created: true };
    },

    /** Starts the workflows of runs requested more than `graceMs` ago that still have none; returns how many. */
    async sweep(graceMs = SWEEP_GRACE_MS, limit = 100): Promise<number> {
      const rows = await db.select().from(conformanceRuns).where(and(notStarted(conformanceRuns, graceMs), eq(conformanceRuns.status, 'running')))
        .orderBy(asc(conformanceRuns.createdAt)).limit(limit);
      for (const run of rows) await start(run);
      return rows.length;
    },
  };
}

export type ConformanceIntake = ReturnType<typeof createConformanceIntake>;
