import { safeError } from '../observability/safe-error';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { asc } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { merchantApplications } from '../db/schema';
import { markStarted, notStarted, SWEEP_GRACE_MS } from '../db/workflow-started';
import { SA, type MerchantReviewInput } from '../workflows/merchant-review-messages';
import { withTemporalDeadline } from './updates';

type Application = typeof merchantApplications.$inferSelect;
type StartFields = Pick<Application, 'id' | 'kind' | 'merchantId' | 'workflowId' | 'openedAt'>;

/** How a review workflow is started; bench:api makes its baseline starts with the same options. */
export function reviewStartOptions(app: StartFields, config: Config) {
  const input: MerchantReviewInput = {
    applicationId: app.id, kind: app.kind, ...(app.merchantId ? { merchantId: app.merchantId } : {}),
    workingDays: config.REVIEW_WORKING_DAYS, resubmitWindowDays: config.RESUBMIT_WINDOW_DAYS,
    openedAt: app.openedAt.toISOString(),
  };
  return {
    workflowId: app.workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input] as [MerchantReviewInput],
    // USE_EXISTING: the API's own start, the sweep and a replayed request may all try; one workflow runs.
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `${app.kind === 'onboarding' ? 'Seller onboarding' : 'Seller information change'} review ${app.id}`,
    typedSearchAttributes: [
      { key: SA.status, value: 'pending' }, { key: SA.kind, value: app.kind },
      ...(app.merchantId ? [{ key: SA.merchantId, value: app.merchantId }] : []),
    ],
  };
}

/**
 * Starts the workflows of accepted cases (docs/decisions/008-review-intake.md). The API commits the
 * case's row, then starts its workflow before it answers. A case whose start did not happen (Temporal
 * away, the process killed between the two) is found by `sweep`, which main.ts runs every
 * INTAKE_SWEEP_SECONDS (api/sweeps.ts). Starting twice is harmless: the workflow id is the case's.
 */
export function createReviewIntake({ db, temporal, config, logger }: { db: Db; temporal: Client; config: Config; logger?: Logger | undefined }) {
  const marking = new Set<Promise<void>>();

  const mark = (id: string, at: Date) => markStarted(db, merchantApplications, id, at);

  /**
   * Starts a case's workflow and records when it was found running. With `markLater` the record is written after
   * this returns (a request need not wait for it; if it is lost, the sweep's start is a no-op).
   */
  async function start(app: StartFields, opts: { markLater?: boolean } = {}): Promise<Date> {
    try {
      await withTemporalDeadline(temporal, () => temporal.workflow.start('merchantReview', reviewStartOptions(app, config)));
    } catch (e) {
      // A closed run under this id: the case's workflow ran already, nothing to start.
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    const at = new Date();
    if (!opts.markLater) return (await mark(app.id, at), at);
    // setImmediate: the caller's answer goes out before this write is even built.
    const p: Promise<void> = new Promise<void>((r) => setImmediate(r)).then(() => mark(app.id, at)).then(
      () => undefined,
      (e: unknown) => logger?.warn({ applicationId: app.id, err: safeError(e) }, 'workflow start not recorded; the sweep records it'),
    ).finally(() => marking.delete(p));
    marking.add(p);
    return at;
  }

  /** Starts the workflows of cases accepted more than `graceMs` ago that still have none; returns how many. */
  async function sweep(graceMs = SWEEP_GRACE_MS, limit = 100): Promise<number> {
    const rows = await db.select().from(merchantApplications).where(notStarted(merchantApplications, graceMs))
      .orderBy(asc(merchantApplications.createdAt)).limit(limit);
    for (const app of rows) await start(app);
    return rows.length;
  }

  /** Waits for records still being written (shutdown). */
  async function drain() {
    await Promise.all([...marking]);
  }

  return { start, sweep, drain };
}

export type ReviewIntake = ReturnType<typeof createReviewIntake>;
