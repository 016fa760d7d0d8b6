import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { DIAL_TEST_SCHEDULE_ID } from '../workflows/dial-tests';
import { RECONCILE_SCHEDULE_ID } from '../workflows/reconcile';
import { withTemporalDeadline } from './updates';

/**
 * The dial-test Schedule: 09:00 and 15:00 Asia/Shanghai; rounds may overlap (each has its own results).
 * Created at worker start-up if it does not exist; an existing one is left as operators
 * may have paused or edited it in the Web UI.
 */
export async function ensureDialTestSchedule(client: Client, taskQueue: string): Promise<'created' | 'exists'> {
  try {
    await withTemporalDeadline(client, () => client.schedule.create({
      scheduleId: DIAL_TEST_SCHEDULE_ID,
      spec: { calendars: [{ hour: [9, 15], minute: 0, comment: 'dial tests twice a day' }], timezone: 'Asia/Shanghai' },
      action: { type: 'startWorkflow', workflowType: 'dialTestRound', workflowId: 'dial-test-round', taskQueue, args: [] },
      // A long round must not make the next one skip (a day without a round would lose the streak's day).
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1 hour' },
      memo: { purpose: 'Replays sellers\' saved debug cases against their production interfaces' },
    }), 15_000);
    return 'created';
  } catch (e) {
    if (e instanceof ScheduleAlreadyRunning) return 'exists';
    throw e;
  }
}

/**
 * The reconciliation Schedule (workflows/reconcile.ts): every `everyMinutes`, rows open while their workflow
 * is closed are repaired or flagged for operators. Created at worker start-up if missing.
 */
export async function ensureReconcileSchedule(client: Client, taskQueue: string, o: { everyMinutes: number; graceMs: number }): Promise<'created' | 'exists'> {
  try {
    await withTemporalDeadline(client, () => client.schedule.create({
      scheduleId: RECONCILE_SCHEDULE_ID,
      spec: { intervals: [{ every: `${o.everyMinutes} minutes` }] },
      action: { type: 'startWorkflow', workflowType: 'reconcileOpenRows', workflowId: 'reconcile-round', taskQueue, args: [{ graceMs: o.graceMs }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      memo: { purpose: 'Finds rows open while their workflow is closed; repairs or flags them for operators' },
    }), 15_000);
    return 'created';
  } catch (e) {
    if (e instanceof ScheduleAlreadyRunning) return 'exists';
    throw e;
  }
}
