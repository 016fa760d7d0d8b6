import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { NotifyActivities } from '../activities/notify';
import type { ReconcileActivities, ReconcileResult } from '../activities/reconcile';
import { notifications } from './activity-options';

export const RECONCILE_SCHEDULE_ID = 'reconcile';

const acts = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '10 minutes', heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
});
const notify = proxyActivities<NotifyActivities>(notifications('1 hour'));

/**
 * One reconciliation round, started by the `reconcile` Schedule (docs/durable-patterns.md): finds rows open
 * while their workflow is closed, restarts provisioning of paid lines, and flags the rest for operators, who
 * are alerted. Rows whose workflow started less than `graceMs` ago are left alone. History: 5 to 10 events.
 */
export async function reconcileOpenRows(input: { graceMs?: number; limit?: number } = {}): Promise<ReconcileResult> {
  const result = await acts.reconcileOpenRows({ graceMs: input.graceMs ?? 10 * 60_000, limit: input.limit ?? 5_000 });
  if (result.flagged.length || result.repaired.length) {
    await notify.notifyParty({
      dedupeKey: `${workflowInfo().workflowId}:${workflowInfo().runId}:reconciled`, party: { kind: 'supervisors' }, template: 'reconcile.found',
      vars: { repaired: result.repaired, flagged: result.flagged },
    }).catch(() => undefined);
  }
  return result;
}
