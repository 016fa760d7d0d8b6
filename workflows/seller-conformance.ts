import { proxyActivities } from '@temporalio/workflow';
import type { ConformanceActivities } from '../activities/conformance';
import type { NotifyActivities } from '../activities/notify';
import { isOurFault, OUR_FAULT } from '../seller-client/faults';
import { DB_WRITES, notifications } from './activity-options';
import type { ConformanceInput, ConformanceOutcome } from './seller-conformance-messages';

/** The kit makes about 30 calls, each given up after at most 3 × the call timeout, plus the polling window. */
const kitBudgetMs = (i: ConformanceInput) => 30 * Math.max(3 * i.timeoutMs, i.timeoutMs + 10_000) + i.pollWindowMs + 60_000;

const notify = proxyActivities<NotifyActivities>(notifications('1 hour'));
const db = proxyActivities<ConformanceActivities>(DB_WRITES);

/**
 * One seller conformance run (docs/seller-conformance.md): the kit in one heartbeating activity that
 * stores the report, then, when checks failed, a message to the seller listing them. History: at most
 * a few activities whatever the seller does (the kit's calls live inside the activity).
 */
export async function sellerConformance(input: ConformanceInput): Promise<ConformanceOutcome> {
  const kit = proxyActivities<ConformanceActivities>({
    startToCloseTimeout: kitBudgetMs(input),
    // The kit heartbeats before every call; one call waits at most 3 × the call timeout (at least timeout + 10 s).
    heartbeatTimeout: Math.max(3 * input.timeoutMs, input.timeoutMs + 10_000) + 30_000,
    // A retry runs the kit afresh (new order ids); database trouble is worth two more tries, our own faults none.
    retry: { initialInterval: '10 seconds', maximumAttempts: 3, nonRetryableErrorTypes: [OUR_FAULT, 'ConformanceRunNotFound'] },
  });
  let outcome: ConformanceOutcome;
  try {
    outcome = await kit.runConformanceKit({ runId: input.runId });
  } catch (e) {
    if (!isOurFault(e)) throw e;
    outcome = await db.recordConformanceError({ runId: input.runId, error: ourFaultMessage(e) });
  }
  if (outcome.status === 'failed') {
    await notify.notifyParty({
      dedupeKey: `conformance:${input.runId}`, party: { kind: 'merchant', merchantId: input.merchantId }, template: 'conformance.failed',
      vars: { productId: input.productId, runId: input.runId, failures: outcome.failures },
    }).catch(() => undefined); // a channel that stays down is recorded by the notification itself; the run's result stands
  }
  return outcome;
}

function ourFaultMessage(e: unknown): string {
  for (let c = e as { message?: string; cause?: unknown; type?: string } | undefined, d = 0; c && d < 5; c = c.cause as typeof c, d++) {
    if (c.type === OUR_FAULT) return c.message ?? 'marketplace fault';
  }
  return 'marketplace fault';
}
