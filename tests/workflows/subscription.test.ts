import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topUp } from '../../db/ledger';
import { interfaceMessages, notifications, principals } from '../../db/schema';
import { newId } from '../../domain/ids';
import { addDays, addPeriods, firstRenewalAttempt, sellerTime } from '../../domain/periods';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { saasProvisionWorkflowId } from '../../workflows/saas-provision-messages';
import { SUBSCRIPTION_RUN_BOUND } from '../../workflows/subscription';
import {
  convertUpdate, renewUpdate, restartSellerCallsUpdate, setPolicyUpdate, subscriptionQuery, unsubscribeRenewalUpdate, unsubscribeUpdate,
} from '../../workflows/subscription-messages';
import { balance, expectLedgerBalanced } from '../support/ledger';
import { HOUR, startReviewHarness, type ReviewHarness } from '../support/review-harness';
import { expectHistoryWithin } from '../support/history';
import { recordHistory } from '../support/replay';
import { events, firstRun, orders, row, sellerEvents, SELLER_KEY, subscribe, until } from '../support/subscriptions';

const DAY = 24 * HOUR;
const MINUTE = 60_000;
let h: ReviewHarness;
let seller: ReferenceSeller;
beforeAll(async () => {
  h = await startReviewHarness();
  seller = await startReferenceSeller({ accessKey: SELLER_KEY, port: 0 });
  await h.startWorker();
});
afterEach(async () => { await expectLedgerBalanced(h.db); });
afterAll(async () => { await seller?.close(); await h?.close(); });

const at = (ms: number) => new Date(ms);
/** The refusal message of an Update the workflow turned down. */
const refusal = async (p: Promise<unknown>) => {
  try { await p; } catch (e) { const c = (e as { cause?: { type?: string; message?: string } }).cause; return `${c?.type}: ${c?.message}`; }
  return 'accepted';
};

describe('subscriptions on the time-skipping server, against the reference seller', () => {
  it('renews a monthly subscription 36 times over three years, each at 03:00 Asia/Shanghai seven days before expiry, every run under the bound', async () => {
    const sub = await subscribe(h, seller, { priceCents: 1000, balanceCents: 37 * 1000 });
    await sub.handle.executeUpdate(setPolicyUpdate, { args: [{ policy: 'auto_renew' }] });
    const expiry = (k: number) => addPeriods(at(sub.deliveredAt), 'month', k).getTime();
    expect(sub.expiresAt).toBe(expiry(1));

    await h.skipTo(firstRenewalAttempt(at(expiry(36))).getTime() + HOUR);
    const renewals = await until(() => orders(h, sub.instanceId, 'renewal'), (r) => r.length === 36, '36 renewals');
    renewals.forEach((r, i) => {
      const k = i + 1;
      // At 03:00 Shanghai (19:00 UTC the day before), on the calendar day seven days before the expiry day.
      expect(r.createdAt).toEqual(firstRenewalAttempt(at(expiry(k))));
      expect(r.createdAt.getUTCHours()).toBe(19);
      expect([r.startsAt!.getTime(), r.endsAt!.getTime()]).toEqual([expiry(k), expiry(k + 1)]);
      expect(r.trigger).toBe('auto');
    });
    const view = await sub.handle.query(subscriptionQuery);
    expect(view).toMatchObject({ status: 'active', expiresAt: at(expiry(37)).toISOString(), nextAction: 'begin-period' });
    // The seller was told each new expiry, in order, over signed HTTP.
    const refreshed = sellerEvents(seller, sub.instanceId).filter((e) => e.startsWith('refreshInstance'));
    expect(refreshed).toEqual(Array.from({ length: 36 }, (_, i) => `refreshInstance:RENEWAL:${sellerTime(at(expiry(i + 2)))}`));
    expect(seller.received.filter((c) => c.activity === 'refreshInstance' && (c.body as { instanceId?: string }).instanceId === sub.instanceId).every((c) => c.verdict === 'ok')).toBe(true);
    expect(await balance(h.db, sub.buyer)).toBe(0);
    // One run per period, none of them over the bound.
    const lengths = await expectHistoryWithin(h.env.client, sub.handle, SUBSCRIPTION_RUN_BOUND);
    expect(lengths).toHaveLength(36);
    await recordHistory(await firstRun(h, sub.handle), 'first-period-auto-renewed');
    await recordHistory(sub.handle, 'thirty-sixth-period');
  });

  it('a balance too low at the first attempt fails daily at 03:00; after a top-up the next 03:00 renews', async () => {
    const sub = await subscribe(h, seller, { priceCents: 1000, balanceCents: 1000 });
    await sub.handle.executeUpdate(setPolicyUpdate, { args: [{ policy: 'auto_renew' }] });
    const first = firstRenewalAttempt(at(sub.expiresAt)).getTime();
    await h.skipTo(first + 2 * DAY + HOUR);
    const failed = await until(() => events(h, sub.instanceId, 'renewal_failed'), (e) => e.length === 3, 'three failed attempts');
    expect(failed.map((e) => e.at.getTime())).toEqual([first, first + DAY, first + 2 * DAY]);
    const told = await until(() => h.db.select().from(notifications).where(eq(notifications.recipientPrincipalId, sub.buyer)), (n) => n.filter((m) => m.subject.includes('failed')).length >= 3, 'failure notices');
    expect(new Set(told.filter((m) => m.subject.includes('failed')).map((m) => m.channel))).toEqual(new Set(['email', 'sms', 'inapp']));
    await until(async () => h.inbox.mails.filter((m) => m.subject.includes(sub.instanceId) && m.subject.includes('failed')).length, (n) => n === 3, 'three e-mails');
    expect(h.inbox.sms.filter((m) => m.text.includes(sub.instanceId) && m.text.includes('failed')).length).toBe(3);

    await h.skipTo(first + 2 * DAY + 7 * HOUR);
    await topUp(h.db, { key: `top-up:${sub.buyer}:late`, buyerId: sub.buyer, amountCents: 1000 });
    expect(await orders(h, sub.instanceId, 'renewal')).toHaveLength(0);
    await h.skipTo(first + 3 * DAY + HOUR);
    const [renewal] = await until(() => orders(h, sub.instanceId, 'renewal'), (r) => r.length === 1, 'the renewal');
    expect(renewal!.createdAt.getTime()).toBe(first + 3 * DAY);
    expect(renewal!.endsAt!.getTime()).toBe(addPeriods(at(sub.deliveredAt), 'month', 2).getTime());
    expect(await balance(h.db, sub.buyer)).toBe(0);
    expect(sellerEvents(seller, sub.instanceId)).toEqual([`refreshInstance:RENEWAL:${sellerTime(renewal!.endsAt!)}`]);
  });

  it('under no renewal: told seven days before, frozen at the exact expiry, released at the exact end of retention', async () => {
    const sub = await subscribe(h, seller, { balanceCents: 1000, level: 'V4' });
    expect((await sub.handle.query(subscriptionQuery)).policy).toBe('no_renewal');
    await h.skipTo(sub.expiresAt - MINUTE);
    expect(await sub.handle.query(subscriptionQuery)).toMatchObject({ status: 'active', nextAction: 'freeze', nextActionAt: at(sub.expiresAt).toISOString() });
    expect((await events(h, sub.instanceId, 'expiry_notice')).map((e) => e.at.getTime())).toEqual([firstRenewalAttempt(at(sub.expiresAt)).getTime()]);
    await h.skipTo(sub.expiresAt + MINUTE);
    const [frozen] = await until(() => events(h, sub.instanceId, 'frozen'), (e) => e.length === 1, 'the freeze');
    expect(frozen!.at.getTime()).toBe(sub.expiresAt);
    await until(async () => sellerEvents(seller, sub.instanceId), (e) => e.includes('updateInstanceStatus:FREEZE'), 'FREEZE at the seller');
    const release = addDays(at(sub.expiresAt), 15).getTime();
    expect((await row(h, sub.instanceId)).releaseAt!.getTime()).toBe(release);
    await h.skipTo(release - MINUTE);
    expect((await sub.handle.query(subscriptionQuery)).status).toBe('frozen');
    await h.skipTo(release + MINUTE);
    const done = await sub.handle.result();
    expect(done.status).toBe('released');
    expect((await events(h, sub.instanceId, 'released'))[0]!.at.getTime()).toBe(release);
    expect(sellerEvents(seller, sub.instanceId)).toEqual(['updateInstanceStatus:FREEZE', 'releaseInstance']);
    expect(seller.instance(sub.instanceId)!.released).toBe(true);
    await recordHistory(sub.handle, 'no-renewal-frozen-released');
    await recordHistory(h.env.client.workflow.getHandle(saasProvisionWorkflowId(sub.line.id)), 'delivered-subscription-started');
    const subjects = h.inbox.mails.filter((m) => m.subject.includes(sub.instanceId)).map((m) => m.subject);
    expect(subjects.some((s) => s.includes('will not renew'))).toBe(true);
    expect(subjects.some((s) => s.includes('frozen'))).toBe(true);
    expect(subjects.some((s) => s.includes('released'))).toBe(true);
  });

  it('a manual renewal during the freeze unfreezes, and the new period starts at the original expiry', async () => {
    const sub = await subscribe(h, seller, { priceCents: 1000, balanceCents: 3000 });
    await h.skipTo(sub.expiresAt + 3 * DAY);
    expect((await sub.handle.query(subscriptionQuery)).status).toBe('frozen');
    const renewed = await sub.handle.executeUpdate(renewUpdate, { args: [{ terms: 2 }] });
    const newExpiry = addPeriods(at(sub.deliveredAt), 'month', 3);
    // No renewal is the policy: next comes the notice seven days before the new expiry.
    expect(renewed).toMatchObject({ status: 'active', expiresAt: newExpiry.toISOString(), nextAction: 'notify-expiring' });
    const [r] = await orders(h, sub.instanceId, 'renewal');
    expect(r).toMatchObject({ trigger: 'manual', periods: 2, priceCents: 2000, startsAt: at(sub.expiresAt), endsAt: newExpiry, status: 'effective' });
    await until(async () => sellerEvents(seller, sub.instanceId), (e) => e.length === 3, 'the seller calls');
    expect(sellerEvents(seller, sub.instanceId)).toEqual(['updateInstanceStatus:FREEZE', `refreshInstance:RENEWAL:${sellerTime(newExpiry)}`, 'updateInstanceStatus:UNFREEZE']);
    expect(seller.instance(sub.instanceId)!.frozen).toBe(false);
    await recordHistory(await firstRun(h, sub.handle), 'frozen-renewed-manually');
    expect(await balance(h.db, sub.buyer)).toBe(0);
  });

  it('the policy changed during the wait applies from the very next timer', async () => {
    const sub = await subscribe(h, seller, { priceCents: 1000, balanceCents: 2000 });
    await sub.handle.executeUpdate(setPolicyUpdate, { args: [{ policy: 'auto_renew' }] });
    const first = firstRenewalAttempt(at(sub.expiresAt)).getTime();
    expect((await sub.handle.query(subscriptionQuery)).nextActionAt).toBe(at(first).toISOString());
    // Eight days before expiry the buyer says no: the 03:00 attempt of day −7 does not happen, the notice goes out instead.
    await h.skipTo(first - DAY);
    expect(await sub.handle.executeUpdate(setPolicyUpdate, { args: [{ policy: 'no_renewal' }] })).toMatchObject({ nextAction: 'notify-expiring', nextActionAt: at(first).toISOString() });
    // Six days before expiry, at 01:00, the buyer switches back: the attempt is at 03:00 that day.
    await h.skipTo(first + DAY - 2 * HOUR);
    expect(await orders(h, sub.instanceId, 'renewal')).toHaveLength(0);
    expect(await sub.handle.executeUpdate(setPolicyUpdate, { args: [{ policy: 'auto_renew' }] })).toMatchObject({ nextAction: 'renew', nextActionAt: at(first + DAY).toISOString() });
    await h.skipTo(first + DAY + HOUR);
    const [r] = await until(() => orders(h, sub.instanceId, 'renewal'), (x) => x.length === 1, 'the renewal');
    expect(r!.createdAt.getTime()).toBe(first + DAY);
    expect((await events(h, sub.instanceId, 'policy_changed')).map((e) => e.data.policy)).toEqual(['auto_renew', 'no_renewal', 'auto_renew']);
  });

  it('a trial is released at its end; another converts with TRIAL_TO_FORMAL and is charged then', async () => {
    const lapsed = await subscribe(h, seller, { priceCents: 5000, trialDays: 7, balanceCents: 5000 });
    expect(lapsed.expiresAt).toBe(lapsed.deliveredAt + 7 * DAY);
    expect(await balance(h.db, lapsed.buyer)).toBe(5000);
    expect(await refusal(lapsed.handle.executeUpdate(renewUpdate, { args: [{ terms: 1 }] }))).toMatch(/SubscriptionActionNotAllowed.*convert it first/);

    const kept = await subscribe(h, seller, { priceCents: 5000, trialDays: 7, balanceCents: 5000 });
    await h.skipTo(kept.deliveredAt + 2 * DAY);
    const converted = await kept.handle.executeUpdate(convertUpdate, { args: [{}] });
    const now = await h.env.currentTimeMs();
    expect(converted.status).toBe('active');
    expect(Math.abs(Date.parse(converted.expiresAt) - addPeriods(at(now), 'month', 1).getTime())).toBeLessThan(MINUTE);
    expect(await balance(h.db, kept.buyer)).toBe(0);
    await until(async () => sellerEvents(seller, kept.instanceId), (e) => e.length === 1, 'TRIAL_TO_FORMAL');
    expect(sellerEvents(seller, kept.instanceId)[0]).toBe(`refreshInstance:TRIAL_TO_FORMAL:${sellerTime(new Date(converted.expiresAt))}`);
    expect(await refusal(kept.handle.executeUpdate(convertUpdate, { args: [{}] }))).toMatch(/not a trial/);

    await h.skipTo(lapsed.expiresAt + MINUTE);
    expect((await lapsed.handle.result()).status).toBe('released');
    expect((await events(h, lapsed.instanceId, 'trial_ended'))[0]!.at.getTime()).toBe(lapsed.expiresAt);
    expect(sellerEvents(seller, lapsed.instanceId)).toEqual(['releaseInstance']);
    expect((await kept.handle.query(subscriptionQuery)).status).toBe('active');
    await recordHistory(lapsed.handle, 'trial-ended');
    await recordHistory(await firstRun(h, kept.handle), 'trial-converted');
  });

  it('unsubscribes a renewal period that has not begun: refunded, UNSUBSCRIBE_RENEWAL_PERIOD with the earlier expiry', async () => {
    const sub = await subscribe(h, seller, { priceCents: 1000, balanceCents: 2000 });
    await sub.handle.executeUpdate(setPolicyUpdate, { args: [{ policy: 'auto_renew' }] });
    await h.skipTo(firstRenewalAttempt(at(sub.expiresAt)).getTime() + HOUR);
    await until(() => orders(h, sub.instanceId, 'renewal'), (r) => r.length === 1, 'the renewal');
    expect(await balance(h.db, sub.buyer)).toBe(0);
    const after = await sub.handle.executeUpdate(unsubscribeRenewalUpdate, { args: [{}] });
    expect(after).toMatchObject({ expiresAt: at(sub.expiresAt).toISOString(), policy: 'no_renewal', pendingRenewals: [] });
    expect(await balance(h.db, sub.buyer)).toBe(1000);
    const [renewal] = await orders(h, sub.instanceId, 'renewal');
    expect(renewal!.status).toBe('refunded');
    await until(async () => sellerEvents(seller, sub.instanceId), (e) => e.length === 2, 'the seller calls');
    expect(sellerEvents(seller, sub.instanceId)).toEqual([`refreshInstance:RENEWAL:${sellerTime(renewal!.endsAt!)}`, `refreshInstance:UNSUBSCRIBE_RENEWAL_PERIOD:${sellerTime(at(sub.expiresAt))}`]);
    expect(await refusal(sub.handle.executeUpdate(unsubscribeRenewalUpdate, { args: [{}] }))).toMatch(/no renewal period/);
    await recordHistory(sub.handle, 'renewal-period-unsubscribed');
  });

  it('the 5-day no-reason unsubscription refunds in full and releases, ten times a year; the 11th is refused, and so is the 6th day', async () => {
    const buyer = `P${newId('', 12)}`;
    await h.db.insert(principals).values({ id: buyer, role: 'buyer', name: 'Often unsubscribes', email: 'often@example.com' });
    const subs: Awaited<ReturnType<typeof subscribe>>[] = [];
    for (let i = 0; i < 11; i++) subs.push(await subscribe(h, seller, { priceCents: 700, balanceCents: 700, buyer }));
    for (const sub of subs.slice(0, 10)) {
      const v = await sub.handle.executeUpdate(unsubscribeUpdate, { args: [{}] });
      expect(v.status).toBe('released');
    }
    expect(await balance(h.db, buyer)).toBe(11 * 700 - 700);
    const eleventh = subs[10]!;
    expect(await refusal(eleventh.handle.executeUpdate(unsubscribeUpdate, { args: [{}] }))).toMatch(/UnsubscribeQuotaExceeded.*10 a calendar year/);
    expect((await eleventh.handle.query(subscriptionQuery)).status).toBe('active');
    for (const sub of subs.slice(0, 10)) expect((await sub.handle.result()).status).toBe('released');
    await recordHistory(subs[0]!.handle, 'unsubscribed-within-5-days');
    await recordHistory(eleventh.handle, 'unsubscribe-quota-refused');
    const released = seller.accepted('releaseInstance').filter((b) => subs.some((s) => s.instanceId === b.instanceId));
    expect(released).toHaveLength(10);
    expect(released.every((b) => typeof b.orderId === 'string' && (b.orderId as string).startsWith('CS'))).toBe(true);

    const late = await subscribe(h, seller, { priceCents: 700, balanceCents: 700 });
    await h.skipTo(late.deliveredAt + 5 * DAY + MINUTE);
    expect(await refusal(late.handle.executeUpdate(unsubscribeUpdate, { args: [{}] }))).toMatch(/5-day no-reason unsubscription window/);
    // Every call to the seller was recorded as an interface message of the subscription's order line.
    const recorded = await h.db.select().from(interfaceMessages).where(and(eq(interfaceMessages.orderLineId, subs[0]!.line.id), eq(interfaceMessages.activity, 'releaseInstance')));
    expect(recorded).toEqual([expect.objectContaining({ outcome: 'success', resultCode: '000000' })]);
  });

  it('a broken seller never delays the buyer: calls retry an hour, wait for restarts, and the history stays bounded in the worst case', async () => {
    // The worst case for one run: no money for any of the daily attempts, the longest retention, and a seller that stays down.
    const sub = await subscribe(h, seller, { priceCents: 1000, balanceCents: 1000, level: 'V5' });
    await sub.handle.executeUpdate(setPolicyUpdate, { args: [{ policy: 'auto_renew' }] });
    seller.faults.downUntil = Number.MAX_SAFE_INTEGER;
    try {
      await h.skipTo(sub.expiresAt + 2 * HOUR);
      expect((await events(h, sub.instanceId, 'frozen'))[0]!.at.getTime()).toBe(sub.expiresAt);
      // FREEZE was tried every 5 minutes for an hour (12 attempts), then waits for the seller.
      const freezeCalls = () => h.db.select().from(interfaceMessages).where(and(eq(interfaceMessages.orderLineId, sub.line.id), eq(interfaceMessages.activity, 'updateInstanceStatus')));
      expect(await freezeCalls()).toHaveLength(12);
      expect(await sub.handle.query(subscriptionQuery)).toMatchObject({ status: 'frozen', sellerCallsOwed: 1, sellerCallsWaitingForRestart: true });
      await until(async () => h.inbox.mails.filter((m) => m.subject.includes(sub.instanceId) && m.subject.includes('stopped')).length, (n) => n === 1, 'the seller told');
      // The seller restarts while still broken, again and again: each restart is another hour of attempts.
      for (let i = 0; i < 8; i++) {
        await sub.handle.executeUpdate(restartSellerCallsUpdate, { args: [{}] });
        await h.env.sleep(2 * HOUR);
      }
      expect((await freezeCalls()).length).toBe(12 * 9);
      const release = addDays(at(sub.expiresAt), 15).getTime();
      await h.skipTo(release + HOUR);
      // Released at the exact end of retention, though the seller never heard of the freeze.
      expect((await events(h, sub.instanceId, 'released'))[0]!.at.getTime()).toBe(release);
      expect(await sub.handle.query(subscriptionQuery)).toMatchObject({ status: 'released', sellerCallsOwed: 2, sellerCallsWaitingForRestart: true });
      // Daily attempts at 03:00 from seven days before expiry through the last day of retention, all failed.
      const attempts: number[] = [];
      for (let t = firstRenewalAttempt(at(sub.expiresAt)).getTime(); t < release; t += DAY) attempts.push(t);
      expect(attempts.length).toBeGreaterThanOrEqual(22);
      expect((await events(h, sub.instanceId, 'renewal_failed')).map((e) => e.at.getTime())).toEqual(attempts);
      seller.faults.downUntil = undefined;
      await sub.handle.executeUpdate(restartSellerCallsUpdate, { args: [{}] });
      expect((await sub.handle.result()).status).toBe('released');
      expect(sellerEvents(seller, sub.instanceId)).toEqual(['updateInstanceStatus:FREEZE', 'releaseInstance']);
      // The history limit, not a period, made the new runs.
      const lengths = await expectHistoryWithin(h.env.client, sub.handle, SUBSCRIPTION_RUN_BOUND);
      expect(lengths.length).toBeGreaterThanOrEqual(2);
      await recordHistory(sub.handle, 'seller-down-released');
    } finally {
      seller.faults.downUntil = undefined;
    }
  });
});
