import { proxyActivities } from '@temporalio/workflow';

// A workflow whose one activity fails twice before it succeeds: what the SDK logs for each retry.
const { flaky } = proxyActivities<{ flaky(): Promise<string> }>({
  startToCloseTimeout: '10 seconds', retry: { initialInterval: '1 second', backoffCoefficient: 1, maximumAttempts: 3 },
});
export async function flakyWorkflow(): Promise<string> {
  return flaky();
}
