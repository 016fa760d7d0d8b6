import { proxyActivities } from '@temporalio/workflow';
import type { ConformanceActivities } from '../activities/conformance';
import type { NotifyActivities } from '../activities/notify';
import { notifications } from './activity-options';
import type { ConformanceInput, ConformanceOutcome } from './seller-conformance-messages';
import { createStuckGuard } from './stuck';

/** How long the kit waits for one answer at most: 3 × the call timeout, at least timeout + 10 s (conformance/run.ts). */
const abandonAfterMs = (i: ConformanceInput) => Math.max(3 * i.timeoutMs, i.timeoutMs + 10_000);

const notify = proxyActivities<NotifyActivities>(notifications('1 hour'));

/**
 * One seller conformance run (docs/seller-conformance.md): the kit in one heartbeating activity that
 * stores the report, then, when checks failed, a message to the seller listing them. The seller's
 * mistakes are the report's business; a failure of the activity itself (a key that does not decrypt,
 * a worker lost three times) is ours, and the run waits in `stuck` for operators.
 */
export async function sellerConformance(input: ConformanceInput): Promise<ConformanceOutcome> {
  const kit = proxyActivities<ConformanceActivities>({
    // About 30 calls, each given up after abandonAfterMs, plus the polling window.
    startToCloseTimeout: 30 * abandonAfterMs(input) + input.pollWindowMs + 60_000,
    // The kit heartbeats before every call.
    heartbeatTimeout: abandonAfterMs(input) + 30_000,
    // A retry runs the kit afresh with new order ids.
    retry: { initialInterval: '10 seconds', maximumAttempts: 3 },
  });
  const guard = createStuckGuard({ subjectId: input.runId });
  const outcome = await guard.run('runConformanceKit', () => kit.runConformanceKit({ runId: input.runId }));
  if (outcome.status === 'failed') {
    await notify.notifyParty({
      dedupeKey: `conformance:${input.runId}`, party: { kind: 'merchant', merchantId: input.merchantId }, template: 'conformance.failed',
      vars: { productId: input.productId, runId: input.runId, failures: outcome.failures },
    }).catch(() => undefined); // a channel that stays down is recorded by the notification itself; the run's result stands
  }
  return outcome;
}
