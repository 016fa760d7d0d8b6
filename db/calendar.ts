import { and, asc, gte, lte } from 'drizzle-orm';
import type { WorkingCalendar } from '../domain/working-days';
import type { Db } from './client';
import { calendarDays } from './schema';

export async function loadWorkingCalendar(db: Db): Promise<WorkingCalendar> {
  const rows = await db.select({ date: calendarDays.date, kind: calendarDays.kind }).from(calendarDays);
  return {
    holidays: rows.filter((r) => r.kind === 'holiday').map((r) => r.date),
    workdays: rows.filter((r) => r.kind === 'workday').map((r) => r.date),
  };
}

export async function listCalendarDays(db: Db) {
  return db.select().from(calendarDays).orderBy(asc(calendarDays.date));
}

/**
 * Years a deadline may fall in soon that have no holiday entries: this year, and from October on the
 * next (the State Council publishes it around November). Deadlines there would count only weekends.
 */
export async function missingCalendarYears(db: Db, now = new Date()): Promise<number[]> {
  const year = now.getUTCFullYear();
  const years = now.getUTCMonth() >= 9 ? [year, year + 1] : [year];
  const missing: number[] = [];
  for (const y of years) {
    const rows = await db.select({ date: calendarDays.date }).from(calendarDays)
      .where(and(gte(calendarDays.date, `${y}-01-01`), lte(calendarDays.date, `${y}-12-31`))).limit(1);
    if (rows.length === 0) missing.push(y);
  }
  return missing;
}
