import { WorkflowUpdateFailedError } from '@temporalio/client';
import { CASE_NOT_OPEN } from '../workflows/merchant-review-messages';
import { PROVISION_NOT_ALLOWED } from '../workflows/saas-provision-messages';
import { conflict, Problem } from './problem';

/** Failure types that workflow validators throw when the process is not in a state that takes the message. */
const STATE_REFUSALS = new Set([CASE_NOT_OPEN, PROVISION_NOT_ALLOWED]);

/** Runs a workflow Update and maps its refusal to HTTP: a wrong state is 409, a bad argument 422. */
export async function runUpdate<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError) {
      const cause = e.cause as { type?: string; message?: string } | undefined;
      if (cause?.type && STATE_REFUSALS.has(cause.type)) throw conflict(`${what}: ${cause.message}`);
      throw new Problem(422, 'Unprocessable Content', cause?.message ?? e.message);
    }
    if ((e as Error)?.name === 'WorkflowNotFoundError') throw conflict(`${what} has no running process`);
    throw e;
  }
}
