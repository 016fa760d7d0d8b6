import { describe, expect, it } from 'vitest';
import {
  addPeriods, firstRenewalAttempt, nextDailyAttempt, sellerTime, shanghaiDay, shanghaiYear,
} from '../../domain/periods';

/** An instant given as Asia/Shanghai wall-clock time. */
const cst = (local: string) => new Date(`${local}+08:00`);

describe('addPeriods: Asia/Shanghai calendar months, clamped at the month end', () => {
  it('adds one month keeping the time of day', () => {
    expect(addPeriods(cst('2026-03-10T14:25:36.123'), 'month', 1)).toEqual(cst('2026-04-10T14:25:36.123'));
  });

  it('31 January plus one month is 28 February, or 29 in a leap year', () => {
    expect(addPeriods(cst('2025-01-31T10:00:00'), 'month', 1)).toEqual(cst('2025-02-28T10:00:00'));
    expect(addPeriods(cst('2024-01-31T10:00:00'), 'month', 1)).toEqual(cst('2024-02-29T10:00:00'));
    expect(addPeriods(cst('2025-03-31T10:00:00'), 'month', 1)).toEqual(cst('2025-04-30T10:00:00'));
  });

  it('29 February plus one year is 28 February; plus four years is 29 February again', () => {
    expect(addPeriods(cst('2024-02-29T08:00:00'), 'year', 1)).toEqual(cst('2025-02-28T08:00:00'));
    expect(addPeriods(cst('2024-02-29T08:00:00'), 'year', 4)).toEqual(cst('2028-02-29T08:00:00'));
  });

  it('counts from the start, so two months after 31 January is 31 March (no drift to the 28th)', () => {
    expect(addPeriods(cst('2025-01-31T10:00:00'), 'month', 2)).toEqual(cst('2025-03-31T10:00:00'));
    const days = Array.from({ length: 36 }, (_, k) => shanghaiDay(addPeriods(cst('2025-01-31T10:00:00'), 'month', k + 1)));
    expect(days.slice(0, 4)).toEqual(['2025-02-28', '2025-03-31', '2025-04-30', '2025-05-31']);
    expect(days[12]).toEqual('2026-02-28');
    expect(days[35]).toEqual('2028-01-31');
  });

  it('crosses the year end', () => {
    expect(addPeriods(cst('2025-12-31T23:30:00'), 'month', 2)).toEqual(cst('2026-02-28T23:30:00'));
    expect(addPeriods(cst('2025-11-15T00:00:00'), 'month', 14)).toEqual(cst('2027-01-15T00:00:00'));
  });

  it('uses the Shanghai date, not the UTC date, of instants near midnight', () => {
    // 2025-01-30T17:00Z is 31 January 01:00 in Shanghai: one month later is 28 February 01:00 Shanghai.
    expect(addPeriods(new Date('2025-01-30T17:00:00Z'), 'month', 1)).toEqual(new Date('2025-02-27T17:00:00Z'));
    // 2025-01-31T20:00Z is 1 February 04:00 in Shanghai: one month later is 1 March 04:00.
    expect(addPeriods(new Date('2025-01-31T20:00:00Z'), 'month', 1)).toEqual(new Date('2025-02-28T20:00:00Z'));
  });

  it('goes back with a negative count and is unchanged with zero', () => {
    expect(addPeriods(cst('2025-03-31T10:00:00'), 'month', -1)).toEqual(cst('2025-02-28T10:00:00'));
    expect(addPeriods(cst('2025-03-31T10:00:00'), 'year', 0)).toEqual(cst('2025-03-31T10:00:00'));
  });

  it('refuses invalid input', () => {
    expect(() => addPeriods(new Date('nope'), 'month', 1)).toThrow(RangeError);
    expect(() => addPeriods(cst('2025-01-01T00:00:00'), 'month', 1.5)).toThrow(RangeError);
    expect(() => addPeriods(cst('2025-01-01T00:00:00'), 'week' as 'month', 1)).toThrow(RangeError);
  });
});

describe('firstRenewalAttempt: 03:00 Asia/Shanghai on the calendar day seven days before the expiry day', () => {
  it('takes the expiry day in Shanghai and goes back seven calendar days', () => {
    expect(firstRenewalAttempt(cst('2026-03-10T12:00:00'))).toEqual(cst('2026-03-03T03:00:00'));
    // 01:00 on 10 March in Shanghai is still 9 March in UTC: the Shanghai day counts.
    expect(firstRenewalAttempt(cst('2026-03-10T01:00:00'))).toEqual(cst('2026-03-03T03:00:00'));
    expect(firstRenewalAttempt(cst('2026-03-10T23:59:59'))).toEqual(cst('2026-03-03T03:00:00'));
  });

  it('crosses month and year boundaries', () => {
    expect(firstRenewalAttempt(cst('2026-03-05T09:00:00'))).toEqual(cst('2026-02-26T03:00:00'));
    expect(firstRenewalAttempt(cst('2024-03-05T09:00:00'))).toEqual(cst('2024-02-27T03:00:00'));
    expect(firstRenewalAttempt(cst('2026-01-03T09:00:00'))).toEqual(cst('2025-12-27T03:00:00'));
  });

  it('takes another lead and time of day when configured', () => {
    expect(firstRenewalAttempt(cst('2026-03-10T12:00:00'), { leadDays: 0, minuteOfDay: 9 * 60 + 30 })).toEqual(cst('2026-03-10T09:30:00'));
  });
});

describe('nextDailyAttempt and the formats around it', () => {
  it('is the next 03:00 Shanghai at or after the instant', () => {
    expect(nextDailyAttempt(cst('2026-03-04T02:59:59'))).toEqual(cst('2026-03-04T03:00:00'));
    expect(nextDailyAttempt(cst('2026-03-04T03:00:00'))).toEqual(cst('2026-03-04T03:00:00'));
    expect(nextDailyAttempt(cst('2026-03-04T03:00:01'))).toEqual(cst('2026-03-05T03:00:00'));
    expect(nextDailyAttempt(cst('2026-03-31T23:00:00'))).toEqual(cst('2026-04-01T03:00:00'));
  });

  it('formats the seller interface time in UTC and finds the Shanghai year', () => {
    expect(sellerTime(cst('2026-03-10T01:02:03'))).toBe('20260309170203');
    expect(shanghaiYear(new Date('2025-12-31T16:30:00Z'))).toBe(2026);
  });
});
