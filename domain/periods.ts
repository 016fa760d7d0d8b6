/**
 * Subscription period arithmetic in the marketplace's calendar, Asia/Shanghai (koogallery-spec §7).
 *
 * Months and years are calendar months and years of the Shanghai wall clock, clamped at the month's
 * end: 31 January plus one month is 28 (or 29) February, 29 February plus one year is 28 February.
 * China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact and keeps this
 * module free of Intl: it runs inside workflow code too.
 */
export type PeriodUnit = 'month' | 'year';

const OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

/** When auto-renewal first tries: `leadDays` calendar days before the expiry day, at `minuteOfDay` Shanghai time. */
export interface RenewalRule { leadDays: number; minuteOfDay: number }
/** Huawei Cloud's rule (spec §7.2): 03:00, seven days before expiry. */
export const DEFAULT_RENEWAL_RULE: RenewalRule = { leadDays: 7, minuteOfDay: 3 * 60 };

const valid = (d: Date, what: string) => {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new RangeError(`${what} is not a valid date`);
};
const daysInMonth = (year: number, month0: number) => new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();

/**
 * `start` plus `count` months or years on the Shanghai calendar, keeping the time of day and clamping the
 * day at the end of a shorter month. Always computed from `start`, so adding 2 months to 31 January gives
 * 31 March, not the 28 March that two single steps would.
 */
export function addPeriods(start: Date, unit: PeriodUnit, count: number): Date {
  valid(start, 'start');
  if (!Number.isInteger(count)) throw new RangeError(`count must be an integer, got ${count}`);
  if (unit !== 'month' && unit !== 'year') throw new RangeError(`unit must be month or year, got ${String(unit)}`);
  const local = new Date(start.getTime() + OFFSET_MS);
  const months = local.getUTCFullYear() * 12 + local.getUTCMonth() + (unit === 'year' ? 12 * count : count);
  const year = Math.floor(months / 12);
  const month0 = months - year * 12;
  const day = Math.min(local.getUTCDate(), daysInMonth(year, month0));
  const timeOfDay = local.getTime() - Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate());
  return new Date(Date.UTC(year, month0, day) + timeOfDay - OFFSET_MS);
}

/** The Shanghai calendar date of an instant, `YYYY-MM-DD`. */
export const shanghaiDay = (at: Date) => new Date(at.getTime() + OFFSET_MS).toISOString().slice(0, 10);

/** The instant of `minuteOfDay` on a Shanghai calendar date. */
const at = (day: string, minuteOfDay: number) => new Date(Date.parse(`${day}T00:00:00Z`) - OFFSET_MS + minuteOfDay * 60_000);

/** The first auto-renewal attempt: 03:00 Asia/Shanghai on the calendar day seven days before the expiry day. */
export function firstRenewalAttempt(expiresAt: Date, rule: RenewalRule = DEFAULT_RENEWAL_RULE): Date {
  valid(expiresAt, 'expiresAt');
  return new Date(at(shanghaiDay(expiresAt), rule.minuteOfDay).getTime() - rule.leadDays * DAY_MS);
}

/** The first daily attempt instant (03:00 Shanghai by default) at or after `from`. */
export function nextDailyAttempt(from: Date, rule: RenewalRule = DEFAULT_RENEWAL_RULE): Date {
  valid(from, 'from');
  const today = at(shanghaiDay(from), rule.minuteOfDay);
  return today.getTime() >= from.getTime() ? today : new Date(today.getTime() + DAY_MS);
}

/** `start` plus whole days (retention is counted in natural days, spec §7.2). */
export const addDays = (start: Date, days: number) => new Date(start.getTime() + days * DAY_MS);

/** `yyyyMMddHHmmss` in UTC: the seller interface's time format (spec §1.5.3 expireTime). */
export const sellerTime = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);

/** The Shanghai calendar year of an instant (the unsubscription quota counts per calendar year). */
export const shanghaiYear = (d: Date) => Number(shanghaiDay(d).slice(0, 4));
