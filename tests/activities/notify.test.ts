import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { eq, like } from 'drizzle-orm';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createNotifyActivities, createTransports, type NotifyActivities } from '../../activities/notify';
import { renderTemplate } from '../../activities/templates';
import { merchantApplications, notifications, principals } from '../../db/schema';
import { freshDatabase } from '../support/db';
import { startInbox, type Inbox } from '../support/inbox';

type TestDb = Awaited<ReturnType<typeof freshDatabase>>;

let database: TestDb;
let inbox: Inbox;

beforeAll(async () => {
  database = await freshDatabase();
  inbox = await startInbox();
});
afterAll(async () => {
  await inbox?.close();
  await database?.drop();
});

const uid = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;
// The failures below are expected; the SDK would log each one as a warning.
const quiet = new DefaultLogger('ERROR');
const run = (acts: NotifyActivities, args: Parameters<NotifyActivities['notifyParty']>[0]) =>
  new MockActivityEnvironment(undefined, { logger: quiet }).run(acts.notifyParty, args);

function activities(opts: { supervisors?: string[]; transports?: 'real' | 'none' } = {}): NotifyActivities {
  return createNotifyActivities({
    db: database.db,
    config: { OPS_SUPERVISOR_EMAILS: opts.supervisors ?? [] },
    transports: opts.transports === 'none'
      ? createTransports({ MAIL_FROM: 'x@y.z' })
      : createTransports({ SMTP_URL: inbox.smtpUrl, MAIL_FROM: 'noreply@marketplace.local', SMS_ENDPOINT: inbox.smsEndpoint }),
  });
}

/** A buyer who applied to become a seller, with a pending onboarding application. */
async function applicant() {
  const principalId = uid('buyer');
  const applicationId = uid('app');
  const email = `${uid('cs')}@acme.example.com`;
  const phone = `+86138${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  await database.db.insert(principals).values({ id: principalId, role: 'buyer', name: 'Li Lei', email: `${uid('own')}@example.com` });
  await database.db.insert(merchantApplications).values({
    id: applicationId, kind: 'onboarding', applicantPrincipalId: principalId, licenceNo: uid('9131'), status: 'approved',
    payload: { companyName: 'Acme Cloud Ltd', customerServiceEmail: email, contactPhone: phone, contactEmail: 'lilei@acme.example.com' },
    openedAt: new Date(), workflowId: `review-${applicationId}`,
  });
  return { principalId, applicationId, email, phone };
}

const rowsFor = (dedupeKey: string) =>
  database.db.select().from(notifications).where(like(notifications.dedupeKey, `${dedupeKey}:%`));
const mailsTo = (address: string) => inbox.mails.filter((m) => m.to.includes(address));
const smsTo = (phone: string) => inbox.sms.filter((s) => s.to === phone);

describe('notifyParty', () => {
  it('sends the applicant one e-mail, one SMS and one in-site message', async () => {
    const a = await applicant();
    const acts = activities();
    const vars = { applicationId: a.applicationId, merchantId: 'm_1' };
    const { subject, body } = renderTemplate('review.approved', vars);
    expect(subject).toContain(a.applicationId);

    const result = await run(acts, {
      dedupeKey: `${a.applicationId}:approved`, party: { kind: 'applicant', applicationId: a.applicationId }, template: 'review.approved', vars,
    });
    expect(result).toEqual([
      { channel: 'email', status: 'sent' }, { channel: 'sms', status: 'sent' }, { channel: 'inapp', status: 'stored' },
    ]);

    const mails = mailsTo(a.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual([a.email]);
    expect(mails[0]!.subject).toBe(subject);
    expect(mails[0]!.raw).toMatch(/^From: noreply@marketplace\.local/m);

    const sms = smsTo(a.phone);
    expect(sms).toHaveLength(1);
    expect(sms[0]!.text).toContain(subject);

    const inapp = await database.db.select().from(notifications)
      .where(eq(notifications.recipientPrincipalId, a.principalId));
    const inappRows = inapp.filter((r) => r.channel === 'inapp');
    expect(inappRows).toHaveLength(1);
    expect(inappRows[0]).toMatchObject({ status: 'stored', subject, body, recipientPrincipalId: a.principalId });

    const rows = await rowsFor(`${a.applicationId}:approved`);
    expect(rows.map((r) => [r.channel, r.address, r.status]).sort()).toEqual([
      ['email', a.email, 'sent'], ['inapp', null, 'stored'], ['sms', a.phone, 'sent'],
    ]);
    expect(rows.filter((r) => r.channel !== 'inapp').every((r) => r.sentAt instanceof Date)).toBe(true);
  });

  it('sends nothing new when the same call runs again with the same dedupeKey', async () => {
    const a = await applicant();
    const acts = activities();
    const args = {
      dedupeKey: `${a.applicationId}:approved`, party: { kind: 'applicant' as const, applicationId: a.applicationId },
      template: 'review.approved', vars: { applicationId: a.applicationId, merchantId: 'm_2' },
    };
    await run(acts, args);
    const again = await run(acts, args);
    expect(again).toEqual([
      { channel: 'email', status: 'sent' }, { channel: 'sms', status: 'sent' }, { channel: 'inapp', status: 'stored' },
    ]);
    expect(mailsTo(a.email)).toHaveLength(1);
    expect(smsTo(a.phone)).toHaveLength(1);
    expect(await rowsFor(args.dedupeKey)).toHaveLength(3);

    // A different key is a different message.
    await run(acts, { ...args, dedupeKey: `${a.applicationId}:approved-2` });
    expect(mailsTo(a.email)).toHaveLength(2);
    expect(smsTo(a.phone)).toHaveLength(2);
  });

  it('throws when the SMS gateway fails, and the retry sends only the SMS', async () => {
    const a = await applicant();
    const acts = activities();
    const args = {
      dedupeKey: `${a.applicationId}:rejected:1`, party: { kind: 'applicant' as const, applicationId: a.applicationId },
      template: 'review.rejected', vars: { applicationId: a.applicationId, round: 1, reasons: ['Logo is blurry'] },
    };
    inbox.failNextSms(1);
    await expect(run(acts, args)).rejects.toThrow(/HTTP 503/);
    expect(mailsTo(a.email)).toHaveLength(1);
    expect(smsTo(a.phone)).toHaveLength(0);
    const afterFailure = await rowsFor(args.dedupeKey);
    expect(afterFailure.find((r) => r.channel === 'sms')?.status).toBe('pending');

    const retried = await run(acts, args);
    expect(retried).toEqual([
      { channel: 'email', status: 'sent' }, { channel: 'sms', status: 'sent' }, { channel: 'inapp', status: 'stored' },
    ]);
    expect(mailsTo(a.email)).toHaveLength(1);
    expect(smsTo(a.phone)).toHaveLength(1);
    const rows = await rowsFor(args.dedupeKey);
    expect(rows.map((r) => [r.channel, r.status]).sort()).toEqual([['email', 'sent'], ['inapp', 'stored'], ['sms', 'sent']]);
  });

  it('leaves e-mail and SMS in the outbox when no gateway is configured', async () => {
    const a = await applicant();
    const acts = activities({ transports: 'none' });
    const mailsBefore = inbox.mails.length;
    const smsBefore = inbox.sms.length;
    const result = await run(acts, {
      dedupeKey: `${a.applicationId}:expired`, party: { kind: 'applicant', applicationId: a.applicationId },
      template: 'review.expired', vars: { applicationId: a.applicationId, days: 30 },
    });
    expect(result).toEqual([
      { channel: 'email', status: 'outbox' }, { channel: 'sms', status: 'outbox' }, { channel: 'inapp', status: 'stored' },
    ]);
    const rows = await rowsFor(`${a.applicationId}:expired`);
    expect(rows.map((r) => [r.channel, r.address, r.status, r.sentAt]).sort()).toEqual([
      ['email', a.email, 'outbox', null], ['inapp', null, 'stored', null], ['sms', a.phone, 'outbox', null],
    ]);
    expect(inbox.mails.length).toBe(mailsBefore);
    expect(inbox.sms.length).toBe(smsBefore);
  });

  it('reaches supervisor operators and the OPS_SUPERVISOR_EMAILS addresses', async () => {
    const sup = { id: uid('op'), email: `${uid('sup')}@ops.example.com`, phone: '+8613900000001' };
    const supNoPhone = { id: uid('op'), email: `${uid('sup')}@ops.example.com` };
    const plainOp = { id: uid('op'), email: `${uid('op')}@ops.example.com`, phone: '+8613900000002' };
    const buyer = { id: uid('buyer'), email: `${uid('b')}@example.com` };
    await database.db.insert(principals).values([
      { id: sup.id, role: 'operator', name: 'Supervisor', email: sup.email, phone: sup.phone, supervisor: true },
      { id: supNoPhone.id, role: 'operator', name: 'Supervisor 2', email: supNoPhone.email, supervisor: true },
      { id: plainOp.id, role: 'operator', name: 'Operator', email: plainOp.email, phone: plainOp.phone },
      // Only operators can be supervisors; a flagged buyer is not one.
      { id: buyer.id, role: 'buyer', name: 'Buyer', email: buyer.email, supervisor: true },
    ]);
    const extra = `${uid('lead')}@ops.example.com`;
    // The supervisor's own address listed again must not produce a second e-mail.
    const acts = activities({ supervisors: [extra, sup.email] });
    const dedupeKey = uid('overdue');
    const vars = { applicationId: 'app_x', kind: 'onboarding', round: 1, deadline: '2025-02-05T16:00:00.000Z' };
    const { subject } = renderTemplate('review.overdue', vars);

    await run(acts, { dedupeKey, party: { kind: 'supervisors' }, template: 'review.overdue', vars });

    expect(mailsTo(sup.email)).toHaveLength(1);
    expect(mailsTo(sup.email)[0]!.subject).toBe(subject);
    expect(smsTo(sup.phone)).toHaveLength(1);
    expect(mailsTo(supNoPhone.email)).toHaveLength(1);
    expect(mailsTo(extra)).toHaveLength(1);
    expect(mailsTo(extra)[0]!.subject).toBe(subject);
    expect(mailsTo(plainOp.email)).toHaveLength(0);
    expect(smsTo(plainOp.phone)).toHaveLength(0);
    expect(mailsTo(buyer.email)).toHaveLength(0);

    const rows = await rowsFor(dedupeKey);
    const inapp = rows.filter((r) => r.channel === 'inapp').map((r) => r.recipientPrincipalId).sort();
    // This database is shared by the file's tests, so only the supervisors created here are asserted.
    expect(inapp).toEqual(expect.arrayContaining([sup.id, supNoPhone.id].sort()));
    expect(inapp).not.toContain(plainOp.id);
    expect(inapp).not.toContain(buyer.id);
    const extraRow = rows.find((r) => r.address === extra);
    expect(extraRow).toMatchObject({ channel: 'email', status: 'sent', recipientPrincipalId: null });
  });

  it('reaches a single principal by id', async () => {
    const id = uid('seller');
    const email = `${uid('s')}@seller.example.com`;
    await database.db.insert(principals).values({ id, role: 'seller', name: 'Seller', email });
    const acts = activities();
    const vars = { applicationId: 'app_y', merchantId: 'm_y' };
    const result = await run(acts, { dedupeKey: uid('p'), party: { kind: 'principal', principalId: id }, template: 'review.approved', vars });
    expect(result).toEqual([{ channel: 'email', status: 'sent' }, { channel: 'inapp', status: 'stored' }]);
    expect(mailsTo(email)).toHaveLength(1);
  });

  it('throws for an unknown template, before sending anything', async () => {
    const a = await applicant();
    const acts = activities();
    const dedupeKey = `${a.applicationId}:nope`;
    await expect(run(acts, {
      dedupeKey, party: { kind: 'applicant', applicationId: a.applicationId }, template: 'review.nonexistent', vars: {},
    })).rejects.toThrow(/unknown message template review\.nonexistent/);
    expect(mailsTo(a.email)).toHaveLength(0);
    expect(smsTo(a.phone)).toHaveLength(0);
    expect(await rowsFor(dedupeKey)).toHaveLength(0);
  });

  it('fails without retry for an unknown application', async () => {
    const acts = activities();
    await expect(run(acts, {
      dedupeKey: uid('k'), party: { kind: 'applicant', applicationId: 'app_missing' }, template: 'review.approved', vars: {},
    })).rejects.toMatchObject({ type: 'ApplicationNotFound', nonRetryable: true });
  });
});
