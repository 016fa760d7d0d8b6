import { proxyActivities } from '@temporalio/workflow';
import type { DebugCallInput, DebugCallResult, DialTestActivities } from '../activities/dial-tests';

// One seller call, no retry: a debug call reports what the interface did this time.
const dial = proxyActivities<DialTestActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 1 } });

/**
 * A seller's debug call (testFlag=1), run by the worker and not the API process: the API starts it and
 * answers with the run to follow (GET /v1/products/{id}/debug-calls/{callId}). A passing call is saved
 * as a case the dial tests replay.
 */
export async function debugCall(input: DebugCallInput): Promise<DebugCallResult> {
  return dial.debugCall(input);
}
