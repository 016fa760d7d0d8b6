// Version 2 changed the wrong way: a new step inserted before the others, with no patch.
import { proxyActivities, sleep } from '@temporalio/workflow';

const { step } = proxyActivities<{ step(name: string): Promise<string> }>({ startToCloseTimeout: '1 minute' });

export async function versionedFlow(): Promise<string[]> {
  const done = [await step('reserve')];
  done.push(await step('charge'));
  await sleep('1 hour');
  done.push(await step('ship'));
  return done;
}
