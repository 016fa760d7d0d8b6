import {
  ActivityFailure, ApplicationFailure, CancellationScope, condition, isCancellation, proxyActivities, setHandler, TimeoutFailure,
  upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { NotifyActivities } from '../activities/notify';
import type { StuckActivities } from '../activities/stuck';
import { notifications } from './activity-options';
import { NOT_STUCK, retryStuckUpdate, STUCK_SA, stuckQuery, type RetryOutcome, type StuckInfo } from './stuck-messages';

// Recording the stuck state must not itself hang the process when the database is the fault.
const readModel = proxyActivities<StuckActivities>({
  startToCloseTimeout: '30 seconds', scheduleToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
const alert = proxyActivities<NotifyActivities>(notifications('1 hour'));

const MINUTE = 60_000;

export interface StuckGuardOptions {
  /** The entity the process is about (application id, order line id): the read model and alerts name it. */
  subjectId: string;
  /** First automatic re-check after this long (default 5 min); each further one waits twice as long … */
  recheckMs?: number;
  /** … up to this (default 6 h), so a process stuck for a month adds about 130 re-checks to its history. */
  maxRecheckMs?: number;
  /** Called when the process becomes stuck or resumes, to update the workflow's own status and read model. */
  onChange?: (stuck: StuckInfo | null) => Promise<void> | void;
}

/** Thrown by `run` when its `interrupt` became true while the step was stuck: the caller has something else to do. */
export class StepInterrupted extends Error {
  constructor(public readonly step: string) {
    super(`${step} was interrupted while stuck`);
    this.name = 'StepInterrupted';
  }
}

/** The type and message of the failure under an ActivityFailure, as the stuck state shows them. */
export function failureOf(e: ActivityFailure): { type: string; message: string } {
  for (let c: unknown = e.cause; c; c = (c as { cause?: unknown }).cause) {
    if (c instanceof ApplicationFailure) return { type: c.type ?? 'Error', message: c.message };
    if (c instanceof TimeoutFailure) return { type: 'Timeout', message: `${e.activityType}: ${c.message}` };
  }
  return { type: 'Unknown', message: e.message };
}

/**
 * The `stuck` pattern (docs/durable-patterns.md). `run(step, fn)` runs a step that calls activities; when
 * an activity fails for good (a non-retryable failure, or retries exhausted), that is our own fault, not a
 * party's: the process becomes stuck (search attributes `Stuck`/`StuckReason`, a `stuck_processes` row,
 * an alert to supervisors), then re-checks by itself with growing pauses, or at once when an operator
 * sends the `retryStuck` Update, until the step passes. Failure types listed in `passThrough` are the
 * caller's to handle (e.g. a refusal it answers with a reason) and are thrown to it.
 * Create one guard per workflow run, before the first step: it registers the `retryStuck` Update and
 * the `stuck` Query.
 */
export function createStuckGuard(o: StuckGuardOptions) {
  const recheckMs = o.recheckMs ?? 5 * MINUTE;
  const maxRecheckMs = o.maxRecheckMs ?? 6 * 60 * MINUTE;
  let stuck: StuckInfo | null = null;
  let recorded = false;
  let retryRequested = false;
  let retriedBy = 'operator';
  // Counts finished attempts that an operator asked for, so each retry Update answers with its own attempt.
  let retriesDone = 0;

  setHandler(stuckQuery, () => stuck, { description: 'Why the process is stuck on one of our faults, or null.' });
  setHandler(retryStuckUpdate, async ({ operatorId }): Promise<RetryOutcome> => {
    retryRequested = true;
    retriedBy = operatorId;
    const n = retriesDone;
    await condition(() => retriesDone > n);
    return { resolved: stuck === null, stuck };
  }, {
    description: 'Operators: retry the failed step now, once its cause is fixed. Answers whether it passed.',
    validator: (r) => {
      if (!stuck) throw ApplicationFailure.create({ type: NOT_STUCK, message: 'the process is not stuck', nonRetryable: true });
      if (retryRequested) throw ApplicationFailure.create({ type: NOT_STUCK, message: 'a retry is already under way', nonRetryable: true });
      if (!r?.operatorId) throw new Error('operatorId is required');
    },
  });

  const info = workflowInfo();
  async function record(s: StuckInfo) {
    // A failed write is tried again at the next re-check; the search attributes already show the state.
    recorded = await readModel.markStuck({ workflowId: info.workflowId, workflowType: info.workflowType, subjectId: o.subjectId, ...s })
      .then(() => true, () => false);
  }

  async function enter(step: string, e: ActivityFailure, waitMs: number) {
    const f = failureOf(e);
    const now = Date.now();
    const first = stuck === null;
    const changed = first || stuck!.failureType !== f.type || stuck!.step !== step;
    stuck = {
      step, failureType: f.type, message: f.message, since: first ? new Date(now).toISOString() : stuck!.since,
      rechecks: first ? 0 : stuck!.rechecks + 1, nextCheckAt: new Date(now + waitMs).toISOString(),
    };
    upsertSearchAttributes([{ key: STUCK_SA.stuck, value: true }, { key: STUCK_SA.reason, value: f.type }]);
    if (changed || !recorded) await record(stuck);
    if (first) {
      // Not awaited: a mail server that is down must not hold the process.
      alert.notifyParty({
        dedupeKey: `${info.workflowId}:stuck:${stuck.since}`, party: { kind: 'supervisors' }, template: 'process.stuck',
        vars: { workflowId: info.workflowId, subjectId: o.subjectId, step, failureType: f.type, message: f.message },
      }).catch(() => undefined);
    }
    if (changed) await o.onChange?.(stuck);
  }

  async function leave(resolvedBy: string) {
    stuck = null;
    upsertSearchAttributes([{ key: STUCK_SA.stuck, value: false }, { key: STUCK_SA.reason, value: null }]);
    await readModel.clearStuck({ workflowId: info.workflowId, resolvedBy }).catch(() => undefined);
    recorded = false;
    await o.onChange?.(null);
  }

  return {
    /** Why the process is stuck now, or null. */
    current: () => stuck,

    /**
     * Runs a step until it passes (see above). `interrupt`: while the step waits stuck, something the
     * caller must attend to (a buyer's cancellation) ends the wait with StepInterrupted. Cancelling the
     * step's scope also leaves the stuck state.
     */
    async run<T>(step: string, fn: () => Promise<T>, opts: { passThrough?: readonly string[]; interrupt?: () => boolean } = {}): Promise<T> {
      const interrupted = () => opts.interrupt?.() ?? false;
      try {
        for (let waitMs = recheckMs; ; waitMs = Math.min(waitMs * 2, maxRecheckMs)) {
          const byOperator = retryRequested;
          try {
            const value = await fn();
            if (stuck) await leave(byOperator ? retriedBy : 'recheck');
            return value;
          } catch (e) {
            if (!(e instanceof ActivityFailure) || isCancellation(e)) throw e;
            if (opts.passThrough?.includes(failureOf(e).type)) {
              if (stuck) await leave('recheck');
              throw e;
            }
            await enter(step, e, waitMs);
          } finally {
            // An attempt that ends after a retry was asked for answers it (even one already under way then).
            if (retryRequested) { retryRequested = false; retriesDone++; }
          }
          await condition(() => retryRequested || interrupted(), waitMs);
          if (!retryRequested && interrupted()) throw new StepInterrupted(step);
        }
      } catch (e) {
        if (stuck && (e instanceof StepInterrupted || isCancellation(e))) await CancellationScope.nonCancellable(() => leave('abandoned'));
        throw e;
      }
    },
  };
}

export type StuckGuard = ReturnType<typeof createStuckGuard>;
