import { describe, it, expect } from 'vitest';
import { workingDayDeadline, type WorkingCalendar } from '../../domain/working-days';
import { CHINA_CALENDAR_2025_2026 } from '../../domain/china-holidays';

/**
 * Every expected instant below was worked out by hand from the real calendar (2025-01-01 was a
 * Wednesday, 2025-10-01 a Wednesday, 2026-01-01 a Thursday) and the State Council's holiday notices.
 * Counting starts on the Shanghai day after the event; the deadline is 24:00 Asia/Shanghai at the
 * end of the Nth working day, i.e. 16:00Z of that date.
 */
const china: WorkingCalendar = {
  holidays: CHINA_CALENDAR_2025_2026.filter((e) => e.kind === 'holiday').map((e) => e.date),
  workdays: CHINA_CALENDAR_2025_2026.filter((e) => e.kind === 'workday').map((e) => e.date),
};
const deadline = (eventAt: string, n: number, calendar: WorkingCalendar = china) =>
  workingDayDeadline(new Date(eventAt), n, calendar);

describe('workingDayDeadline: ordinary weeks', () => {
  it('skips the weekend: event Friday, 3 working days end Wednesday 24:00 Shanghai', () => {
    // Fri 2025-03-07 10:00 Shanghai → Mon 10 (1), Tue 11 (2), Wed 12 (3).
    expect(deadline('2025-03-07T02:00:00Z', 3)).toEqual(new Date('2025-03-12T16:00:00Z'));
  });

  it('event Thursday, 3 working days end next Tuesday', () => {
    // Thu 2026-03-05 12:00 Shanghai → Fri 6 (1), Mon 9 (2), Tue 10 (3).
    expect(deadline('2026-03-05T04:00:00Z', 3)).toEqual(new Date('2026-03-10T16:00:00Z'));
  });

  it('with workingDays = 1 ends at the end of the next working day', () => {
    // Mon 2025-03-10 → Tue 11.
    expect(deadline('2025-03-10T01:00:00Z', 1)).toEqual(new Date('2025-03-11T16:00:00Z'));
    // Fri 2025-03-07 → Mon 10.
    expect(deadline('2025-03-07T09:00:00Z', 1)).toEqual(new Date('2025-03-10T16:00:00Z'));
  });

  it('works on an empty calendar (weekends only)', () => {
    // Sat 2025-10-04 (a holiday in China, but not in this calendar) → Mon 6 (1), Tue 7 (2), Wed 8 (3).
    expect(deadline('2025-10-04T04:00:00Z', 3, { holidays: [], workdays: [] })).toEqual(new Date('2025-10-08T16:00:00Z'));
  });
});

describe('workingDayDeadline: the Shanghai date of the event decides, not the UTC date', () => {
  it('23:59 Shanghai on Thursday counts from Friday', () => {
    // 2026-03-05T15:59Z = Thu 5 March 23:59 Shanghai → Fri 6 (1), Mon 9 (2), Tue 10 (3).
    expect(deadline('2026-03-05T15:59:00Z', 3)).toEqual(new Date('2026-03-10T16:00:00Z'));
    expect(deadline('2026-03-05T15:59:59.999Z', 3)).toEqual(new Date('2026-03-10T16:00:00Z'));
  });

  it('00:00 Shanghai on Friday counts from Monday, although the UTC date is still Thursday', () => {
    // 2026-03-05T16:00Z = Fri 6 March 00:00 Shanghai → Mon 9 (1), Tue 10 (2), Wed 11 (3).
    expect(deadline('2026-03-05T16:00:00Z', 3)).toEqual(new Date('2026-03-11T16:00:00Z'));
    // 2026-03-05T16:30Z = Fri 6 March 00:30 Shanghai.
    expect(deadline('2026-03-05T16:30:00Z', 3)).toEqual(new Date('2026-03-11T16:00:00Z'));
  });

  it('01:00 Shanghai on Thursday is Thursday, although the UTC date is still Wednesday', () => {
    // 2026-03-04T17:00Z = Thu 5 March 01:00 Shanghai → Fri 6 (1), Mon 9 (2), Tue 10 (3).
    expect(deadline('2026-03-04T17:00:00Z', 3)).toEqual(new Date('2026-03-10T16:00:00Z'));
  });

  it('an event exactly at a deadline instant belongs to the next Shanghai day', () => {
    // 2025-03-11T16:00Z = Wed 12 March 00:00 Shanghai → Thu 13 (1).
    expect(deadline('2025-03-11T16:00:00Z', 1)).toEqual(new Date('2025-03-13T16:00:00Z'));
  });
});

describe('workingDayDeadline: Spring Festival 2025 (holidays 01-28..02-04, make-up Sun 01-26 and Sat 02-08)', () => {
  it('event Fri 2025-01-24: Sun 26 make-up (1), Mon 27 (2), Wed 5 Feb (3)', () => {
    expect(deadline('2025-01-24T02:00:00Z', 3)).toEqual(new Date('2025-02-05T16:00:00Z'));
  });

  it('event Fri 2025-01-24, 1 working day: the make-up Sunday 26th', () => {
    expect(deadline('2025-01-24T02:00:00Z', 1)).toEqual(new Date('2025-01-26T16:00:00Z'));
  });

  it('event Thu 2025-02-06: Fri 7 (1), Sat 8 make-up (2), Mon 10 (3)', () => {
    expect(deadline('2025-02-06T03:00:00Z', 3)).toEqual(new Date('2025-02-10T16:00:00Z'));
  });

  it('event Fri 2025-01-24, 10 working days: 26, 27, Feb 5, 6, 7, 8, 10, 11, 12, 13', () => {
    expect(deadline('2025-01-24T02:00:00Z', 10)).toEqual(new Date('2025-02-13T16:00:00Z'));
  });

  it('an event on a holiday (Fri 2025-01-31) counts from the first working day after the break', () => {
    // Feb 1..4 holidays → Wed 5 (1), Thu 6 (2), Fri 7 (3).
    expect(deadline('2025-01-31T06:00:00Z', 3)).toEqual(new Date('2025-02-07T16:00:00Z'));
  });

  it('an event on the make-up Saturday 2025-02-08 counts from Monday', () => {
    // Sun 9 is a normal weekend day → Mon 10 (1), Tue 11 (2), Wed 12 (3).
    expect(deadline('2025-02-08T02:00:00Z', 3)).toEqual(new Date('2025-02-12T16:00:00Z'));
  });
});

describe('workingDayDeadline: National Day 2025 (holidays 10-01..10-08, make-up Sun 09-28 and Sat 10-11)', () => {
  it('event Fri 2025-09-26: Sun 28 make-up (1), Mon 29 (2), Tue 30 (3)', () => {
    expect(deadline('2025-09-26T02:00:00Z', 3)).toEqual(new Date('2025-09-30T16:00:00Z'));
  });

  it('event Tue 2025-09-30: Thu 9 Oct (1), Fri 10 (2), Sat 11 make-up (3)', () => {
    expect(deadline('2025-09-30T02:00:00Z', 3)).toEqual(new Date('2025-10-11T16:00:00Z'));
  });

  it('event Tue 2025-09-30, 5 working days: ..., Sat 11 (3), Mon 13 (4), Tue 14 (5)', () => {
    expect(deadline('2025-09-30T02:00:00Z', 5)).toEqual(new Date('2025-10-14T16:00:00Z'));
  });

  it('event Fri 2025-09-26, 10 working days: 28, 29, 30, Oct 9, 10, 11, 13, 14, 15, 16', () => {
    expect(deadline('2025-09-26T02:00:00Z', 10)).toEqual(new Date('2025-10-16T16:00:00Z'));
  });

  it('an event on a holiday (Fri 2025-10-03), 1 working day: Thu 9 Oct', () => {
    expect(deadline('2025-10-03T04:00:00Z', 1)).toEqual(new Date('2025-10-09T16:00:00Z'));
  });

  it('an event on the make-up Saturday 2025-10-11: Mon 13 (1), Tue 14 (2), Wed 15 (3)', () => {
    expect(deadline('2025-10-11T04:00:00Z', 3)).toEqual(new Date('2025-10-15T16:00:00Z'));
  });

  it('an event late on the last holiday (Wed 2025-10-08 23:30 Shanghai): Thu 9 (1)', () => {
    expect(deadline('2025-10-08T15:30:00Z', 1)).toEqual(new Date('2025-10-09T16:00:00Z'));
  });
});

describe('workingDayDeadline: Spring Festival 2026 (holidays 02-15..02-23, make-up Sat 02-14 and Sat 02-28)', () => {
  it('event Fri 2026-02-13: Sat 14 make-up (1), Tue 24 (2), Wed 25 (3)', () => {
    expect(deadline('2026-02-13T02:00:00Z', 3)).toEqual(new Date('2026-02-25T16:00:00Z'));
  });

  it('event Thu 2026-02-12, 2 working days: Fri 13 (1), Sat 14 make-up (2)', () => {
    expect(deadline('2026-02-12T02:00:00Z', 2)).toEqual(new Date('2026-02-14T16:00:00Z'));
  });

  it('event Wed 2026-02-25: Thu 26 (1), Fri 27 (2), Sat 28 make-up (3)', () => {
    expect(deadline('2026-02-25T02:00:00Z', 3)).toEqual(new Date('2026-02-28T16:00:00Z'));
  });

  it('an event on a holiday (Wed 2026-02-18): Tue 24 (1), Wed 25 (2), Thu 26 (3)', () => {
    expect(deadline('2026-02-18T02:00:00Z', 3)).toEqual(new Date('2026-02-26T16:00:00Z'));
  });

  it('an event on the make-up Saturday 2026-02-14: the holidays follow, Tue 24 (1)', () => {
    expect(deadline('2026-02-14T02:00:00Z', 1)).toEqual(new Date('2026-02-24T16:00:00Z'));
  });

  it('an event on the make-up Saturday 2026-02-28: Sun 1 Mar is weekend, Mon 2 Mar (1)', () => {
    expect(deadline('2026-02-28T02:00:00Z', 1)).toEqual(new Date('2026-03-02T16:00:00Z'));
  });

  it('event Fri 2026-02-13, 10 working days: 14, 24, 25, 26, 27, 28, Mar 2, 3, 4, 5', () => {
    expect(deadline('2026-02-13T02:00:00Z', 10)).toEqual(new Date('2026-03-05T16:00:00Z'));
  });
});

describe("workingDayDeadline: New Year's Day 2026 (holidays 01-01..01-03, make-up Sun 01-04)", () => {
  it('event Wed 2025-12-31: the make-up Sunday 4 Jan is working day 1, across the year boundary', () => {
    expect(deadline('2025-12-31T02:00:00Z', 1)).toEqual(new Date('2026-01-04T16:00:00Z'));
  });
});

describe('workingDayDeadline: invalid input', () => {
  const at = new Date('2025-03-07T02:00:00Z');

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects workingDays = %s with a RangeError', (n) => {
    expect(() => workingDayDeadline(at, n, china)).toThrow(RangeError);
  });

  it('rejects an invalid Date with a RangeError', () => {
    expect(() => workingDayDeadline(new Date('not a date'), 3, china)).toThrow(RangeError);
    expect(() => workingDayDeadline(new Date(Number.NaN), 3, china)).toThrow(RangeError);
  });

  it('throws rather than looping when the calendar declares years of holidays in a row', () => {
    const holidays: string[] = [];
    for (let t = Date.parse('2025-01-01T00:00:00Z'); t <= Date.parse('2030-12-31T00:00:00Z'); t += 86_400_000) {
      holidays.push(new Date(t).toISOString().slice(0, 10));
    }
    expect(() => workingDayDeadline(at, 1, { holidays, workdays: [] })).toThrow(RangeError);
  });

  it('still finds a working day after a long but finite closure (two years of holidays)', () => {
    const holidays: string[] = [];
    for (let t = Date.parse('2030-01-01T00:00:00Z'); t <= Date.parse('2031-12-31T00:00:00Z'); t += 86_400_000) {
      holidays.push(new Date(t).toISOString().slice(0, 10));
    }
    // Event Mon 2029-12-31; 2032-01-01 is a Thursday.
    expect(workingDayDeadline(new Date('2029-12-31T02:00:00Z'), 1, { holidays, workdays: [] }))
      .toEqual(new Date('2032-01-01T16:00:00Z'));
  });
});
