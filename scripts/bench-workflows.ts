// Workflows that exist only as benchmark baselines (scripts/bench-provision.ts).
import { proxyActivities, sleep } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/** The same number of activities as a provisioning run on its happy path, doing nothing. */
export async function noopActivities(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await noop();
}

/** bench:subscriptions' baseline: as many no-op activities as a subscription runs before it sleeps, then a long sleep. */
export async function noopsThenSleep(count: number, sleepMs: number): Promise<void> {
  for (let i = 0; i < count; i++) await noop();
  await sleep(sleepMs);
}

/** bench:renewals' baseline: asleep until the instant, then as many no-op activities as a renewal runs. */
export async function sleepThenNoops(atMs: number, count: number): Promise<void> {
  await sleep(Math.max(1, atMs - Date.now()));
  for (let i = 0; i < count; i++) await noop();
}
