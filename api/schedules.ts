import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { DIAL_TEST_SCHEDULE_ID } from '../workflows/dial-tests';
import { withTemporalDeadline } from './updates';

/**
 * The dial-test Schedule: 09:00 and 15:00 Asia/Shanghai, a round skipped while the previous one
 * still runs. Created at worker start-up if it does not exist; an existing one is left as operators
 * may have paused or edited it in the Web UI.
 */
export async function ensureDialTestSchedule(client: Client, taskQueue: string): Promise<'created' | 'exists'> {
  try {
    await withTemporalDeadline(client, () => client.schedule.create({
      scheduleId: DIAL_TEST_SCHEDULE_ID,
      spec: { calendars: [{ hour: [9, 15], minute: 0, comment: 'dial tests twice a day' }], timezone: 'Asia/Shanghai' },
      action: { type: 'startWorkflow', workflowType: 'dialTestRound', workflowId: 'dial-test-round', taskQueue, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      memo: { purpose: 'Replays sellers\' saved debug cases against their production interfaces' },
    }), 15_000);
    return 'created';
  } catch (e) {
    if (e instanceof ScheduleAlreadyRunning) return 'exists';
    throw e;
  }
}
