/**
 * The subscription lifecycle's timeline as pure rules (docs/subscription.md): given the state of one
 * yearly/monthly instance and the time now, which scheduled action comes next and when. The workflow
 * sleeps until that instant; the API shows it as `nextActionAt`. Runs inside workflow code: no I/O.
 */
import { addDays, addPeriods, firstRenewalAttempt, nextDailyAttempt, type PeriodUnit, type RenewalRule } from './periods';

export type SubscriptionStatus = 'trial' | 'active' | 'frozen' | 'released';
export type ExpiryPolicy = 'auto_renew' | 'no_renewal';

/** A renewal paid for and not begun yet (its period starts at the expiry before it). */
export interface PendingRenewal { orderId: string; orderLineId: string; periods: number; startsAt: number; endsAt: number }

export interface Terms {
  unit: PeriodUnit;
  /** Periods of `unit` in one term of the SKU (a 3-month SKU renews 3 months at a time). */
  termPeriods: number;
  retentionDays: number;
  renewal: RenewalRule;
}

/** What the timeline depends on. Instants are epoch milliseconds (they cross Temporal's data converter as numbers). */
export interface Timeline {
  status: SubscriptionStatus;
  policy: ExpiryPolicy;
  /** When the policy took effect: no attempt or notice is owed for an instant before it. */
  policySince: number;
  /** The end of all paid time (of the trial, for a trial). */
  expiresAt: number;
  renewals: PendingRenewal[];
  /** The last auto-renewal attempt; the next one is the next daily instant after it. */
  lastAttemptAt: number | null;
  /** The expiry the buyer was told will not renew. */
  noticeFor: number | null;
}

export type ActionKind = 'begin-period' | 'renew' | 'notify-expiring' | 'freeze' | 'release' | 'end-trial';
export interface NextAction { kind: ActionKind; at: number }

const DAY_MS = 86_400_000;

/** The end of retention: the instant a frozen instance is released. */
export const releaseAt = (t: Pick<Timeline, 'expiresAt'>, terms: Pick<Terms, 'retentionDays'>) => addDays(new Date(t.expiresAt), terms.retentionDays).getTime();

/** Every action in order of precedence when two fall on the same instant: a renewal before the freeze it prevents. */
const PRECEDENCE: ActionKind[] = ['end-trial', 'begin-period', 'renew', 'notify-expiring', 'freeze', 'release'];

/**
 * The next scheduled action at or after `now`, or null when nothing is left (released). Auto-renewal tries at
 * the first attempt instant (03:00 Shanghai, 7 days before the expiry day), then daily at 03:00, through the
 * expiry and the freeze, while the attempt is before the end of retention. A policy or state change simply
 * changes what this answers, so it takes effect on the very next timer.
 */
export function nextAction(t: Timeline, terms: Terms, now: number): NextAction | null {
  if (t.status === 'released') return null;
  if (t.status === 'trial') return { kind: 'end-trial', at: t.expiresAt };
  const candidates: NextAction[] = [];
  if (t.renewals.length > 0) candidates.push({ kind: 'begin-period', at: t.renewals[0]!.startsAt });
  const end = releaseAt(t, terms);
  const first = firstRenewalAttempt(new Date(t.expiresAt), terms.renewal).getTime();
  if (t.policy === 'auto_renew') {
    // The next daily instant not attempted yet, counted from the first attempt and from when auto-renewal was chosen.
    let at = nextDailyAttempt(new Date(Math.max(first, t.policySince, t.lastAttemptAt === null ? first : t.lastAttemptAt + 1)), terms.renewal).getTime();
    // Instants missed by a day or more (the workers were away) collapse into one attempt, at the latest of them.
    if (at + DAY_MS <= now) {
      const upcoming = nextDailyAttempt(new Date(now), terms.renewal).getTime();
      at = upcoming === now ? now : upcoming - DAY_MS;
    }
    if (at < end) candidates.push({ kind: 'renew', at });
  } else if (t.status === 'active' && t.noticeFor !== t.expiresAt && t.renewals.length === 0) {
    const at = Math.max(first, t.policySince);
    if (at < t.expiresAt) candidates.push({ kind: 'notify-expiring', at });
  }
  if (t.status === 'active' && t.renewals.length === 0) candidates.push({ kind: 'freeze', at: t.expiresAt });
  if (t.status === 'frozen') candidates.push({ kind: 'release', at: end });
  candidates.sort((a, b) => a.at - b.at || PRECEDENCE.indexOf(a.kind) - PRECEDENCE.indexOf(b.kind));
  return candidates[0] ?? null;
}

/**
 * A renewal of `terms` SKU terms bought now: it starts at the current expiry (the original expiry when frozen:
 * spec §7.1) and ends `periods` later, counted from the first period's start so month ends do not drift.
 */
export function renewalSpan(anchorAt: number, periodsPaid: number, expiresAt: number, unit: PeriodUnit, periods: number) {
  return { startsAt: expiresAt, endsAt: addPeriods(new Date(anchorAt), unit, periodsPaid + periods).getTime() };
}

/** Within the no-reason unsubscription window after provisioning (5 days, spec §7.3). */
export const canUnsubscribeWithoutReason = (deliveredAt: number, windowDays: number, now: number) => now < addDays(new Date(deliveredAt), windowDays).getTime();

/** Retention days for a customer level from the configured table, never more than the marketplace's 15 (spec §7.1). */
export const MAX_RETENTION_DAYS = 15;
export function retentionDaysFor(level: string, table: Record<string, number>): number {
  const days = table[level] ?? table.default ?? 0;
  return Math.min(Math.max(0, Math.floor(days)), MAX_RETENTION_DAYS);
}
