// Version 2 changed the right way (docs/decisions/013-workflow-versioning.md): the new step behind patched().
import { patched, proxyActivities, sleep } from '@temporalio/workflow';

const { step } = proxyActivities<{ step(name: string): Promise<string> }>({ startToCloseTimeout: '1 minute' });

export async function versionedFlow(): Promise<string[]> {
  const done: string[] = [];
  if (patched('reserve-stock-first')) done.push(await step('reserve'));
  done.push(await step('charge'));
  await sleep('1 hour');
  done.push(await step('ship'));
  return done;
}
