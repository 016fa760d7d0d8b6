import { WorkflowUpdateFailedError, WorkflowUpdateStage, type Client, type WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { CASE_NOT_OPEN } from '../workflows/merchant-review-messages';
import { PROVISION_NOT_ALLOWED } from '../workflows/saas-provision-messages';
import { NOT_STUCK } from '../workflows/stuck-messages';
import { INSUFFICIENT_BALANCE, SUBSCRIPTION_NOT_ALLOWED, UNSUBSCRIBE_QUOTA } from '../workflows/subscription-messages';
import { SUPERVISION_CONFLICT, SUPERVISION_FORBIDDEN } from '../workflows/supervision-messages';
import { Problem, unavailable } from './problem';
import { isTemporalUnavailable } from './temporal-errors';

/** Failure types that workflow validators throw when the process is not in a state that takes the message. */
const STATE_REFUSALS = new Set([CASE_NOT_OPEN, PROVISION_NOT_ALLOWED, NOT_STUCK, SUBSCRIPTION_NOT_ALLOWED, UNSUBSCRIBE_QUOTA, SUPERVISION_CONFLICT]);

/**
 * How long an HTTP request waits on Temporal: every client call from the API runs under this deadline
 * (`withTemporalDeadline`), and an Update that takes longer answers 202 (`runUpdate`).
 */
export const TEMPORAL_WAIT_MS = 5_000;

/** Runs Temporal client calls with a deadline, so a request never waits on an unreachable server. */
export const withTemporalDeadline = <T>(temporal: Client, fn: () => Promise<T>, ms = TEMPORAL_WAIT_MS): Promise<T> =>
  temporal.withDeadline(Date.now() + ms, fn);

/** The workflow refused the Update (validator or handler), or there is no workflow to take it: nothing of it took effect. */
export class RefusedByWorkflow extends Problem {
  constructor(status: number, title: string, detail: string, public readonly noProcess = false) {
    super(status, title, detail);
  }
}

/** An Update that was accepted and finished in time (`done`), or accepted and still under way (answer 202). */
export type UpdateAnswer<T> = { done: true; result: T } | { done: false };

/**
 * Sends an Update and waits for its own result at most `waitMs` (docs/durable-patterns.md, the 202 rule):
 * - refused by the workflow: 409 for a wrong state, 422 for anything else (RefusedByWorkflow);
 * - no running workflow: 409 (RefusedByWorkflow);
 * - not accepted in time (Temporal away, no worker): 503 with Retry-After;
 * - accepted but not finished in time: `{ done: false }`, which the route answers 202 with the resource to follow.
 */
export async function runUpdate<T, A extends [unknown, ...unknown[]]>(
  temporal: Client, what: string, handle: WorkflowHandle, update: UpdateDefinition<T, A>, args: A, waitMs = TEMPORAL_WAIT_MS,
  /** The same id is the same Update: a client retrying with its Idempotency-Key gets the first one's outcome. */
  updateId?: string,
): Promise<UpdateAnswer<T>> {
  const deadline = Date.now() + waitMs;
  let started;
  try {
    started = await temporal.withDeadline(deadline, () => handle.startUpdate(update, { args, waitForStage: WorkflowUpdateStage.ACCEPTED, ...(updateId ? { updateId } : {}) }));
  } catch (e) {
    refusal(e, what);
    if (isTemporalUnavailable(e)) throw unavailable(`${what}: the process did not take the request in time; it may still apply it, so read the resource before sending it again`);
    throw e;
  }
  try {
    return { done: true, result: (await temporal.withDeadline(deadline, () => started.result())) as T };
  } catch (e) {
    refusal(e, what);
    if (isTemporalUnavailable(e)) return { done: false };
    throw e;
  }
}

/** Throws the HTTP answer to an Update the workflow refused; returns for any other error. */
function refusal(e: unknown, what: string): void {
  if (e instanceof WorkflowUpdateFailedError) {
    const cause = e.cause as { type?: string; message?: string } | undefined;
    if (cause?.type && STATE_REFUSALS.has(cause.type)) throw new RefusedByWorkflow(409, 'Conflict', `${what}: ${cause.message}`);
    if (cause?.type === INSUFFICIENT_BALANCE) throw new RefusedByWorkflow(402, 'Payment Required', `${what}: ${cause.message}`);
    if (cause?.type === SUPERVISION_FORBIDDEN) throw new RefusedByWorkflow(403, 'Forbidden', `${what}: ${cause.message}`);
    throw new RefusedByWorkflow(422, 'Unprocessable Content', cause?.message ?? e.message);
  }
  if ((e as Error)?.name === 'WorkflowNotFoundError') throw new RefusedByWorkflow(409, 'Conflict', `${what} has no running process`, true);
}
