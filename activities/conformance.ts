import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq } from 'drizzle-orm';
import type { Config } from '../config';
import { failuresOf, type ConformanceReport } from '../conformance/checks';
import { runConformance } from '../conformance/run';
import type { Db } from '../db/client';
import { conformanceRuns, products } from '../db/schema';
import { createSellerClient } from '../seller-client';
import type { ConformanceOutcome } from '../workflows/seller-conformance-messages';

type Run = typeof conformanceRuns.$inferSelect;

const outcomeOf = (run: Run & { report: ConformanceReport }): ConformanceOutcome => ({ status: run.report.passed ? 'passed' : 'failed', failures: failuresOf(run.report) });

export function createConformanceActivities({ db, config }: { db: Db; config: Config }) {
  const sellers = createSellerClient({ db, config });

  async function load(runId: string): Promise<Run> {
    const [run] = await db.select().from(conformanceRuns).where(eq(conformanceRuns.id, runId));
    if (!run) throw ApplicationFailure.nonRetryable(`conformance run ${runId} not found`, 'ConformanceRunNotFound');
    return run;
  }

  return {
    /**
     * Runs the kit against the product's production interface and stores the report; a passing run is
     * recorded on the product. A run already finished is not run again (a retried activity, a replay).
     */
    async runConformanceKit(a: { runId: string }): Promise<ConformanceOutcome> {
      const run = await load(a.runId);
      if (run.report) return outcomeOf({ ...run, report: run.report });
      const { url, accessKey } = await sellers.endpoint(run.productId);
      const ctx = Context.current();
      const report = await runConformance({ url, keyId: run.productId, accessKey }, {
        ...run.options,
        // Each attempt has its own order ids, so a retry does not meet the instances an earlier one made.
        runId: `${run.id}${ctx.info.attempt}`,
        onProgress: (label) => ctx.heartbeat(label),
      });
      const status = report.passed ? 'passed' : 'failed';
      const finishedAt = new Date(report.finishedAt);
      // Our own faults (OurFault from the seller client) and database trouble are thrown: the workflow's stuck guard takes them.
      await db.transaction(async (tx) => {
        const done = await tx.update(conformanceRuns).set({ status, report, finishedAt })
          .where(and(eq(conformanceRuns.id, run.id), eq(conformanceRuns.status, 'running'))).returning({ id: conformanceRuns.id });
        if (done.length && report.passed) {
          await tx.update(products).set({ conformanceRunId: run.id, conformancePassedAt: finishedAt, updatedAt: new Date() }).where(eq(products.id, run.productId));
        }
      });
      // The stored report wins: a concurrent attempt that finished first keeps its result.
      const stored = await load(a.runId);
      return outcomeOf({ ...stored, report: stored.report ?? report });
    },
  };
}

export type ConformanceActivities = ReturnType<typeof createConformanceActivities>;
