import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../../config';
import { calendarDays, merchantApplications, principals } from '../../db/schema';
import { newId } from '../../domain/ids';
import { bundleWorkflows, createWorker } from '../../worker';
import {
  merchantReviewWorkflowId, type MerchantReviewInput,
} from '../../workflows/merchant-review-messages';
import { LOOPBACK_SELLERS, TEST_MASTER_KEY } from './catalog';
import { freshDatabase } from './db';
import { applicationInput } from './fixtures';
import { startInbox } from './inbox';
import { startTimeSkipping } from './time-skipping';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, made once per test file. */
export const workflowBundle = () => (bundle ??= bundleWorkflows());

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
/** The instant of `hh:00` Asia/Shanghai (UTC+8) on a calendar date. */
export const cst = (date: string, hh = 0) => Date.parse(`${date}T00:00:00Z`) - 8 * HOUR + hh * HOUR;
export const addDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
export const weekday = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay();
/** The first date on or after `from` that falls on `day` (0 = Sunday). */
export const nextWeekday = (from: string, day: number) => addDays(from, (day - weekday(from) + 7) % 7);

/**
 * A time-skipping Temporal server, a fresh PostgreSQL database, a loopback SMTP server and SMS
 * gateway, and the real worker (real activities) on its own task queue.
 */
export async function startReviewHarness(extraConfig: Record<string, string> = {}) {
  const env = await startTimeSkipping();
  const database = await freshDatabase();
  const inbox = await startInbox();
  const config = loadConfig({
    SMTP_URL: inbox.smtpUrl, SMS_ENDPOINT: inbox.smsEndpoint, OPS_SUPERVISOR_EMAILS: 'duty-manager@marketplace.local',
    TEMPORAL_TASK_QUEUE: `review-${newId('', 6)}`, MASTER_KEY: TEST_MASTER_KEY, ...LOOPBACK_SELLERS, ...extraConfig,
  });
  const db = database.db;
  const [applicant, operator] = [newId('P', 12), newId('P', 12)];
  await db.insert(principals).values([
    { id: applicant, role: 'buyer', name: 'Applicant' },
    { id: operator, role: 'operator', name: 'Supervisor', email: 'supervisor@marketplace.local', supervisor: true },
  ]);

  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const h = {
    env, db, inbox, config, applicant, operator,
    async startWorker(opts: { maxCachedWorkflows?: number } = {}) {
      worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: config.TEMPORAL_TASK_QUEUE, db, config, temporal: env.client, workflowBundle: await workflowBundle(), ...opts });
      running = worker.run();
    },
    async stopWorker() {
      worker?.shutdown();
      await running;
      worker = undefined;
    },
    /** Replaces the seeded calendar with the test's own, since the test server's clock starts today. */
    async useCalendar(holidays: string[], workdays: string[] = []) {
      await db.delete(calendarDays);
      const rows = [...holidays.map((date) => ({ date, kind: 'holiday' as const, name: 'test holiday' })), ...workdays.map((date) => ({ date, kind: 'workday' as const, name: 'test make-up day' }))];
      if (rows.length) await db.insert(calendarDays).values(rows);
    },
    /** Skips the server's clock forward to an instant. */
    async skipTo(at: number) {
      const now = await env.currentTimeMs();
      if (at < now) throw new Error(`cannot skip back from ${new Date(now).toISOString()} to ${new Date(at).toISOString()}`);
      await env.sleep(at - now);
    },
    /** Inserts an application row as the API would, and starts its workflow. */
    async openCase(overrides: Record<string, unknown> = {}) {
      const id = newId('MA');
      const payload = applicationInput(overrides);
      await db.insert(merchantApplications).values({
        id, kind: 'onboarding', applicantPrincipalId: applicant, licenceNo: payload.businessLicenceNo, status: 'pending',
        payload, openedAt: new Date(await env.currentTimeMs()), workflowId: merchantReviewWorkflowId(id),
      });
      const input: MerchantReviewInput = { applicationId: id, kind: 'onboarding', workingDays: config.REVIEW_WORKING_DAYS, resubmitWindowDays: config.RESUBMIT_WINDOW_DAYS };
      const handle = await env.client.workflow.start('merchantReview', { workflowId: merchantReviewWorkflowId(id), taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input] });
      return { id, handle, payload };
    },
    async application(id: string) {
      const [row] = await db.select().from(merchantApplications).where(eq(merchantApplications.id, id));
      return row!;
    },
    async close() {
      await h.stopWorker();
      await env.teardown();
      await inbox.close();
      await database.drop();
    },
  };
  return h;
}
export type ReviewHarness = Awaited<ReturnType<typeof startReviewHarness>>;
