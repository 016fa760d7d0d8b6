/**
 * Working-day arithmetic in the business time zone, Asia/Shanghai.
 *
 * Rule (product decision, docs/decisions/003-working-days.md): N working days after an event are
 * counted from the day after the event, and the deadline is the end (24:00) of the Nth working day.
 * A working day is Monday to Friday unless it is a statutory holiday, plus any make-up working
 * day (调休) that falls on a weekend.
 */
export interface WorkingCalendar {
  /** Statutory holidays, `YYYY-MM-DD`. */
  holidays: string[];
  /** Make-up working days on weekends, `YYYY-MM-DD`. */
  workdays: string[];
}

// China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact and keeps
// this function free of Intl (it also runs inside workflow code).
const SHANGHAI_OFFSET_MS = 8 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;
// A calendar that declares years of holidays in a row is a data error, not a reason to loop forever.
const MAX_SCAN_DAYS = 3 * 366;

export const ISO_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** The Asia/Shanghai calendar date of an instant, as `YYYY-MM-DD`. */
export function shanghaiDate(at: Date): string {
  return new Date(at.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** The instant at which a Shanghai calendar date begins (00:00 Asia/Shanghai). */
export function shanghaiMidnight(date: string): Date {
  return new Date(Date.parse(`${date}T00:00:00Z`) - SHANGHAI_OFFSET_MS);
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

export function isWorkingDay(date: string, calendar: WorkingCalendar): boolean {
  if (calendar.workdays.includes(date)) return true;
  if (calendar.holidays.includes(date)) return false;
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
  return weekday !== 0 && weekday !== 6;
}

export function workingDayDeadline(eventAt: Date, workingDays: number, calendar: WorkingCalendar): Date {
  if (!Number.isInteger(workingDays) || workingDays < 1) {
    throw new RangeError(`workingDays must be a positive integer, got ${workingDays}`);
  }
  if (Number.isNaN(eventAt.getTime())) throw new RangeError('eventAt is not a valid date');
  let day = shanghaiDate(eventAt);
  let counted = 0;
  for (let scanned = 0; scanned < MAX_SCAN_DAYS; scanned++) {
    day = addDays(day, 1);
    if (isWorkingDay(day, calendar) && ++counted === workingDays) {
      return shanghaiMidnight(addDays(day, 1));
    }
  }
  throw new RangeError(`no ${workingDays} working days within ${MAX_SCAN_DAYS} days of ${eventAt.toISOString()}`);
}
