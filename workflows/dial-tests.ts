import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { DialTestActivities } from '../activities/dial-tests';
import type { NotifyActivities } from '../activities/notify';
import { DB_WRITES, notifications } from './activity-options';

export const DIAL_TEST_SCHEDULE_ID = 'dial-tests';

// Each product's run makes several seller calls of up to the call timeout each.
const dial = proxyActivities<DialTestActivities>({ ...DB_WRITES, startToCloseTimeout: '5 minutes' });
const notify = proxyActivities<NotifyActivities>(notifications('1 hour'));

/**
 * One dial-test round, started by the `dial-tests` Schedule at 09:00 and 15:00 Asia/Shanghai
 * (docs/dial-tests.md): replays every saved case of every SaaS product on sale, tells the seller of
 * each failure, and freezes trading in a product after 5 consecutive days with a failed dial test.
 */
export async function dialTestRound(): Promise<{ products: number; failed: string[]; frozen: string[] }> {
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
