import { describe, expect, it } from 'vitest';
import { DEFAULT_RENEWAL_RULE } from '../../domain/periods';
import { canUnsubscribeWithoutReason, nextAction, releaseAt, renewalSpan, retentionDaysFor, type Terms, type Timeline } from '../../domain/subscription';

const cst = (local: string) => Date.parse(`${local}+08:00`);
const DAY = 86_400_000;
const terms: Terms = { unit: 'month', termPeriods: 1, retentionDays: 15, renewal: DEFAULT_RENEWAL_RULE };
const expiresAt = cst('2026-03-10T12:00:00');
const base: Timeline = { status: 'active', policy: 'auto_renew', policySince: cst('2026-02-10T12:00:00'), expiresAt, renewals: [], lastAttemptAt: null, noticeFor: null };
const first = cst('2026-03-03T03:00:00');

describe('nextAction: the subscription timeline', () => {
  it('auto-renew: first at 03:00 seven days before, then daily at 03:00 through the freeze, never at or after release', () => {
    expect(nextAction(base, terms, cst('2026-02-20T00:00:00'))).toEqual({ kind: 'renew', at: first });
    // A timer that fires a few milliseconds late still finds the same attempt due.
    expect(nextAction(base, terms, first + 9)).toEqual({ kind: 'renew', at: first });
    expect(nextAction({ ...base, lastAttemptAt: first }, terms, first + 1000)).toEqual({ kind: 'renew', at: first + DAY });
    // Before its attempt on the expiry day (03:00 < 12:00) the attempt comes first; the freeze follows at 12:00.
    expect(nextAction({ ...base, lastAttemptAt: cst('2026-03-10T03:00:00') }, terms, cst('2026-03-10T04:00:00'))).toEqual({ kind: 'freeze', at: expiresAt });
    const frozen = { ...base, status: 'frozen' as const, lastAttemptAt: cst('2026-03-24T03:00:00') };
    expect(nextAction(frozen, terms, cst('2026-03-24T04:00:00'))).toEqual({ kind: 'renew', at: cst('2026-03-25T03:00:00') });
    // The last day of retention: its 03:00 is before the release at 12:00, the day after is not.
    expect(nextAction({ ...frozen, lastAttemptAt: cst('2026-03-25T03:00:00') }, terms, cst('2026-03-25T04:00:00'))).toEqual({ kind: 'release', at: releaseAt(base, terms) });
    expect(releaseAt(base, terms)).toBe(cst('2026-03-25T12:00:00'));
  });

  it('switching to auto-renew six days before expiry attempts at the next 03:00, not at the missed ones', () => {
    expect(nextAction({ ...base, policySince: cst('2026-03-04T01:00:00') }, terms, cst('2026-03-04T01:00:00'))).toEqual({ kind: 'renew', at: cst('2026-03-04T03:00:00') });
    expect(nextAction({ ...base, policySince: cst('2026-03-04T05:00:00') }, terms, cst('2026-03-04T05:00:00'))).toEqual({ kind: 'renew', at: cst('2026-03-05T03:00:00') });
  });

  it('attempts missed for days while the workers were away collapse into one, at the latest', () => {
    expect(nextAction(base, terms, cst('2026-03-06T10:00:00'))).toEqual({ kind: 'renew', at: cst('2026-03-06T03:00:00') });
  });

  it('no renewal: the notice at the first attempt instant, then the freeze at the exact expiry', () => {
    const none = { ...base, policy: 'no_renewal' as const };
    expect(nextAction(none, terms, cst('2026-02-20T00:00:00'))).toEqual({ kind: 'notify-expiring', at: first });
    expect(nextAction({ ...none, noticeFor: expiresAt }, terms, first + 1)).toEqual({ kind: 'freeze', at: expiresAt });
    // Chosen within the window: the notice is due at once.
    expect(nextAction({ ...none, policySince: cst('2026-03-08T09:00:00') }, terms, cst('2026-03-08T09:00:00'))).toEqual({ kind: 'notify-expiring', at: cst('2026-03-08T09:00:00') });
    expect(nextAction({ ...none, status: 'frozen' }, terms, expiresAt + 1)).toEqual({ kind: 'release', at: releaseAt(base, terms) });
  });

  it('a renewal paid ahead begins its period at the expiry before it instead of a freeze; trials end; released is the end', () => {
    const renewed = { ...base, expiresAt: cst('2026-04-10T12:00:00'), lastAttemptAt: first, renewals: [{ orderId: 'CS1', orderLineId: 'CS1-000001', periods: 1, startsAt: expiresAt, endsAt: cst('2026-04-10T12:00:00') }] };
    expect(nextAction(renewed, terms, first + 1000)).toEqual({ kind: 'begin-period', at: expiresAt });
    expect(nextAction({ ...base, status: 'trial' }, terms, 0)).toEqual({ kind: 'end-trial', at: expiresAt });
    expect(nextAction({ ...base, status: 'released' }, terms, 0)).toBeNull();
  });

  it('renewals start at the original expiry and count from the first period; the rules around them', () => {
    const anchor = cst('2025-01-31T10:00:00');
    expect(renewalSpan(anchor, 1, cst('2025-02-28T10:00:00'), 'month', 1)).toEqual({ startsAt: cst('2025-02-28T10:00:00'), endsAt: cst('2025-03-31T10:00:00') });
    expect(canUnsubscribeWithoutReason(anchor, 5, anchor + 5 * DAY - 1)).toBe(true);
    expect(canUnsubscribeWithoutReason(anchor, 5, anchor + 5 * DAY)).toBe(false);
    expect(retentionDaysFor('V4', { V0: 1, V4: 15 })).toBe(15);
    expect(retentionDaysFor('V9', { V0: 1, default: 3 })).toBe(3);
    expect(retentionDaysFor('V5', { V5: 40 })).toBe(15);
  });
});
