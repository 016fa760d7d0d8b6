import { WorkflowUpdateFailedError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationRevisions, merchants, notifications, reviewEvents } from '../../db/schema';
import { newId } from '../../domain/ids';
import { approveUpdate, rejectUpdate, resubmitUpdate, reviewStateQuery } from '../../workflows/merchant-review-messages';
import { expectHistoryWithin, report } from '../support/history';
import { recordHistory } from '../support/replay';

/** The written bound of one merchantReview run (docs/merchant-review.md), without stuck re-checks. */
const REVIEW_HISTORY_BOUND = 100;
import { addDays, cst, DAY, HOUR, nextWeekday, startReviewHarness, type ReviewHarness } from '../support/review-harness';

let h: ReviewHarness;
beforeAll(async () => {
  h = await startReviewHarness();
  await h.startWorker();
});
afterAll(async () => h?.close());

const iso = (ms: number) => new Date(ms).toISOString();
const today = async () => new Date((await h.env.currentTimeMs()) + 8 * HOUR).toISOString().slice(0, 10);
const events = (id: string) => h.db.select().from(reviewEvents).where(eq(reviewEvents.applicationId, id));
const until = async (pred: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 200; i++) { if (await pred()) return; await new Promise((r) => setTimeout(r, 50)); }
  throw new Error(`timed out waiting for ${what}`);
};

describe('merchant review on the time-skipping server', () => {
  it('becomes overdue exactly at 24:00 Asia/Shanghai of the third working day after a week of holidays', async () => {
    // A week of holidays Thursday..Wednesday, then a make-up working Saturday, as China does around National Day.
    const holidayStart = nextWeekday(addDays(await today(), 3), 4);
    const holidays = Array.from({ length: 7 }, (_, i) => addDays(holidayStart, i));
    const makeUpSaturday = addDays(holidayStart, 9);
    await h.useCalendar(holidays, [makeUpSaturday]);

    // Opened at 20:00 on the eve. Working days: Thu (1), Fri (2), the make-up Saturday (3).
    await h.skipTo(cst(addDays(holidayStart, -1), 20));
    const { id, handle } = await h.openCase();
    const expected = cst(addDays(makeUpSaturday, 1));
    await until(async () => (await handle.query(reviewStateQuery)).deadline !== null, 'the deadline');
    expect((await handle.query(reviewStateQuery)).deadline).toBe(iso(expected));
    expect((await h.application(id)).deadline?.getTime()).toBe(expected);

    await h.skipTo(expected - 1000);
    const before = await handle.query(reviewStateQuery);
    expect(before.status).toBe('pending');
    expect(before.overdueAt).toBeNull();
    expect((await h.application(id)).overdue).toBe(false);

    await h.skipTo(expected + 1000);
    await until(async () => (await h.application(id)).overdue, 'overdue in the database');
    const after = await handle.query(reviewStateQuery);
    expect(after.status).toBe('overdue');
    expect(Date.parse(after.overdueAt!)).toBeGreaterThanOrEqual(expected);
    expect(Date.parse(after.overdueAt!) - expected).toBeLessThan(1000);

    // Escalated to supervisors; nothing decided by default.
    await until(async () => h.inbox.mails.some((m) => m.to.includes('duty-manager@marketplace.local') && m.subject.includes(id)), 'escalation mail');
    expect(h.inbox.mails.filter((m) => m.to.includes('supervisor@marketplace.local') && m.subject.includes(id))).toHaveLength(1);
    const inapp = await h.db.select().from(notifications).where(and(eq(notifications.recipientPrincipalId, h.operator), eq(notifications.channel, 'inapp')));
    expect(inapp.some((n) => n.subject.includes(id) && n.subject.includes('overdue'))).toBe(true);
    await h.skipTo(expected + 30 * DAY);
    expect((await handle.query(reviewStateQuery)).status).toBe('overdue');
    expect((await h.application(id)).status).toBe('pending');

    // An overdue case still takes a decision.
    const decided = await handle.executeUpdate(approveUpdate, { args: [{ operatorId: h.operator }] });
    expect(decided.status).toBe('approved');
    expect((await events(id)).map((e) => e.type)).toEqual(['round_opened', 'overdue', 'approved']);
    await handle.result();
    await recordHistory(handle, 'overdue-then-approved');
  });

  it('an approval before the deadline activates the seller and tells the applicant by e-mail, SMS and in-site message', async () => {
    await h.useCalendar([]);
    const { id, handle, payload } = await h.openCase({ customerServiceEmail: 'cs@approve.example.com', contactPhone: '+8613900000001' });
    await until(async () => (await handle.query(reviewStateQuery)).deadline !== null, 'the deadline');
    await h.env.sleep(2 * HOUR);

    const state = await handle.executeUpdate(approveUpdate, { args: [{ operatorId: h.operator, note: 'welcome' }] });
    expect(state.status).toBe('approved');
    expect(await handle.result()).toMatchObject({ status: 'approved', merchantId: state.merchantId });
    await recordHistory(handle, 'approved');

    const [merchant] = await h.db.select().from(merchants).where(eq(merchants.id, state.merchantId!));
    expect(merchant).toMatchObject({ status: 'active', ownerPrincipalId: h.applicant });
    expect(merchant!.profile.businessLicenceNo).toBe(payload.businessLicenceNo);

    const mails = h.inbox.mails.filter((m) => m.subject.includes(id));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['cs@approve.example.com']);
    expect(mails[0]!.subject).toContain('approved');
    expect(h.inbox.sms.filter((s) => s.text.includes(id))).toEqual([expect.objectContaining({ to: '+8613900000001' })]);
    const inapp = await h.db.select().from(notifications).where(and(eq(notifications.recipientPrincipalId, h.applicant), eq(notifications.channel, 'inapp')));
    expect(inapp.filter((n) => n.subject.includes(id))).toHaveLength(1);
  });

  it('a rejection and a resubmission open a new round with a new deadline in the same case', async () => {
    await h.useCalendar([]);
    const monday = nextWeekday(addDays(await today(), 1), 1);
    await h.skipTo(cst(monday, 10));
    const { id, handle } = await h.openCase();
    await until(async () => (await handle.query(reviewStateQuery)).deadline !== null, 'the deadline');
    // Monday 10:00: Tue (1), Wed (2), Thu (3).
    expect((await handle.query(reviewStateQuery)).deadline).toBe(iso(cst(addDays(monday, 4))));

    await h.skipTo(cst(addDays(monday, 1), 15));
    const rejected = await handle.executeUpdate(rejectUpdate, { args: [{ operatorId: h.operator, reasons: ['business licence scan is unreadable'] }] });
    expect(rejected.status).toBe('rejected');
    await until(async () => h.inbox.mails.some((m) => m.subject.includes(id)), 'rejection mail');
    expect(h.inbox.mails.find((m) => m.subject.includes(id))!.raw).toContain('business licence scan is unreadable');

    // A decided case takes no second decision.
    await expect(handle.executeUpdate(approveUpdate, { args: [{ operatorId: h.operator }] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);

    // Resubmitted on Thursday 10:00: Fri (1), Mon (2), Tue (3).
    await h.skipTo(cst(addDays(monday, 3), 10));
    const revisionId = newId('RV');
    await h.db.insert(applicationRevisions).values({ id: revisionId, applicationId: id, payload: { ...(await h.application(id)).payload, address: 'New address' } });
    const resubmitted = await handle.executeUpdate(resubmitUpdate, { args: [{ applicantId: h.applicant, revisionId }] });
    expect(resubmitted).toMatchObject({ status: 'pending', round: 2, deadline: iso(cst(addDays(monday, 9))) });
    const row = await h.application(id);
    expect(row).toMatchObject({ status: 'pending', round: 2, overdue: false });
    expect(row.payload.address).toBe('New address');
    expect(row.deadline?.getTime()).toBe(cst(addDays(monday, 9)));

    // The new round runs its own clock: still pending one second before its deadline, overdue after it.
    await h.skipTo(cst(addDays(monday, 9)) - 1000);
    expect((await handle.query(reviewStateQuery)).status).toBe('pending');
    await h.skipTo(cst(addDays(monday, 9)) + 1000);
    await until(async () => (await h.application(id)).overdue, 'round 2 overdue');
    expect((await events(id)).map((e) => `${e.round}:${e.type}`)).toEqual(['1:round_opened', '1:rejected', '2:resubmitted', '2:round_opened', '2:overdue']);
    await recordHistory(handle, 'rejected-resubmitted-overdue');
  });

  it('a rejected case that is not resubmitted within the window closes as expired', async () => {
    await h.useCalendar([]);
    const { id, handle } = await h.openCase();
    await until(async () => (await handle.query(reviewStateQuery)).deadline !== null, 'the deadline');
    await handle.executeUpdate(rejectUpdate, { args: [{ operatorId: h.operator, reasons: ['incomplete'] }] });
    await h.env.sleep(h.config.RESUBMIT_WINDOW_DAYS * DAY - HOUR);
    expect((await handle.query(reviewStateQuery)).status).toBe('rejected');
    expect(await handle.result()).toMatchObject({ status: 'expired' });
    expect((await h.application(id)).status).toBe('expired');
    await recordHistory(handle, 'expired');
  });

  it('goes on after the worker stops while the case waits, and duplicates nothing', async () => {
    await h.useCalendar([]);
    // A worker without a cache leaves no sticky task queue behind that only it could serve: the
    // time-skipping server would hold its clock for that task until a sticky timeout that never comes.
    await h.stopWorker();
    await h.startWorker({ maxCachedWorkflows: 0 });
    const { id, handle } = await h.openCase({ customerServiceEmail: 'cs@restart.example.com' });
    await until(async () => (await handle.query(reviewStateQuery)).deadline !== null, 'the deadline');
    const deadline = Date.parse((await handle.query(reviewStateQuery)).deadline!);

    await h.stopWorker();
    // Days pass with no worker. (Not past the deadline: the time-skipping server holds its clock while
    // a fired timer's task waits for a worker.) A new worker then rebuilds the case from its history.
    await h.skipTo(deadline - HOUR);
    await h.startWorker();
    await h.skipTo(deadline + HOUR);
    await until(async () => (await h.application(id)).overdue, 'overdue after restart');
    const state = await handle.executeUpdate(approveUpdate, { args: [{ operatorId: h.operator }] });
    expect(state.status).toBe('approved');
    await handle.result();

    expect((await events(id)).map((e) => e.type)).toEqual(['round_opened', 'overdue', 'approved']);
    expect(await h.db.select().from(merchants).where(eq(merchants.onboardingApplicationId, id))).toHaveLength(1);
    expect(h.inbox.mails.filter((m) => m.subject.includes(id) && m.subject.includes('approved'))).toHaveLength(1);
    expect(h.inbox.mails.filter((m) => m.subject.includes(id) && m.subject.includes('overdue'))).toHaveLength(2);
  });

  it('a case rejected and resubmitted five times continues as new with each round, every run under the bound', async () => {
    await h.useCalendar([]);
    const { id, handle } = await h.openCase();
    const firstRunId = (await handle.describe()).runId;
    await until(async () => (await handle.query(reviewStateQuery)).deadline !== null, 'the deadline');
    for (let round = 1; round <= 5; round++) {
      expect(await handle.executeUpdate(rejectUpdate, { args: [{ operatorId: h.operator, reasons: [`round ${round} is incomplete`] }] })).toMatchObject({ status: 'rejected', round });
      const revisionId = newId('RV');
      await h.db.insert(applicationRevisions).values({ id: revisionId, applicationId: id, payload: { ...(await h.application(id)).payload, address: `Address ${round}` } });
      expect(await handle.executeUpdate(resubmitUpdate, { args: [{ applicantId: h.applicant, revisionId }] })).toMatchObject({ status: 'pending', round: round + 1 });
    }
    expect(await handle.executeUpdate(approveUpdate, { args: [{ operatorId: h.operator }] })).toMatchObject({ status: 'approved', round: 6 });
    expect(await handle.result()).toMatchObject({ status: 'approved', round: 6 });
    expect((await h.application(id))).toMatchObject({ status: 'approved', round: 6 });
    const lengths = await expectHistoryWithin(h.env.client, handle, REVIEW_HISTORY_BOUND, firstRunId);
    expect(lengths).toHaveLength(6);
    report(`merchantReview five rejections and resubmissions: ${lengths.join(', ')} events per run`);
    await recordHistory(h.env.client.workflow.getHandle(handle.workflowId, firstRunId), 'rejected-resubmitted-continued-as-new');
  });
});
