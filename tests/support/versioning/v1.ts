// Version 1 of a small workflow, as it ran before a change (tests/workflows/versioning.test.ts).
import { proxyActivities, sleep } from '@temporalio/workflow';

const { step } = proxyActivities<{ step(name: string): Promise<string> }>({ startToCloseTimeout: '1 minute' });

export async function versionedFlow(): Promise<string[]> {
  const done = [await step('charge')];
  await sleep('1 hour');
  done.push(await step('ship'));
  return done;
}
