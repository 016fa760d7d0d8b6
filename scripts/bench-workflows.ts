// Workflows that exist only as benchmark baselines (scripts/bench-provision.ts).
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/** The same number of activities as a provisioning run on its happy path, doing nothing. */
export async function noopActivities(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await noop();
}
