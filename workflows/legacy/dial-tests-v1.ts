import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { DialTestActivities } from '../../activities/dial-tests';
import type { NotifyActivities } from '../../activities/notify';
import { DB_WRITES, notifications } from '../activity-options';

// Each product's run makes several seller calls of up to the call timeout each.
const dial = proxyActivities<DialTestActivities>({ ...DB_WRITES, startToCloseTimeout: '5 minutes' });
const notify = proxyActivities<NotifyActivities>(notifications('1 hour'));

/**
 * VERSION 1 of the dial-test round, kept unchanged for rounds started before version 2 (decision 013):
 * every product in one history, one after another. Remove with deprecatePatch once no such round runs.
 */
export async function legacyDialTestRound(): Promise<{ products: number; failed: string[]; frozen: string[] }> {
  const at = Date.now();
  // The run id keys the results: a retried round never records a product twice.
  const runKey = workflowInfo().workflowId + ':' + workflowInfo().runId;
  const targets = await dial.listDialTargets();
  const merchants = await dial.merchantOf({ productIds: targets });
  const failed: string[] = [];
  const frozen: string[] = [];
  for (const productId of targets) {
    const run = await dial.dialProduct({ productId, at, runKey });
    if (!run || run.passed) continue;
    failed.push(productId);
    const party = { kind: 'merchant' as const, merchantId: merchants[productId]! };
    await notify.notifyParty({ dedupeKey: `${runKey}:${productId}:dial`, party, template: 'dial.failed', vars: { productId, failures: run.failures } }).catch(() => undefined);
    const verdict = await dial.judgeProduct({ productId, at });
    if (verdict.frozeNow) {
      frozen.push(productId);
      await notify.notifyParty({ dedupeKey: `${runKey}:${productId}:frozen`, party, template: 'dial.frozen', vars: { productId, days: verdict.failingDays } }).catch(() => undefined);
    }
  }
  return { products: targets.length, failed, frozen };
}
