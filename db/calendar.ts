import { and, asc, eq, gte, inArray, lte, sql } from 'drizzle-orm';
import type { WorkingCalendar } from '../domain/working-days';
import type { Db } from './client';
import { calendarDays, calendarYears } from './schema';

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

/** Years a deadline may fall in soon: this one, and from October on the next (the State Council publishes it around November). */
export function comingYears(now = new Date()): number[] {
  const year = now.getUTCFullYear();
  return now.getUTCMonth() >= 9 ? [year, year + 1] : [year];
}

/**
 * Coming years that no operator has marked complete (decision 011). Deadlines there count only weekends
 * and the days entered so far, so start-up warns and /healthz names them until someone does.
 */
export async function incompleteCalendarYears(db: Db, now = new Date()): Promise<number[]> {
  const years = comingYears(now);
  const done = await db.select({ year: calendarYears.year }).from(calendarYears).where(inArray(calendarYears.year, years));
  return years.filter((y) => !done.some((d) => d.year === y));
}

/** One year of the calendar: whether it is marked complete, and how many days are entered for it. */
export async function calendarYear(db: Db, year: number) {
  const [marked] = await db.select().from(calendarYears).where(eq(calendarYears.year, year));
  const [counts] = await db.select({
    holidays: sql<number>`count(*) filter (where ${calendarDays.kind} = 'holiday')`.mapWith(Number),
    workdays: sql<number>`count(*) filter (where ${calendarDays.kind} = 'workday')`.mapWith(Number),
  }).from(calendarDays).where(and(gte(calendarDays.date, `${year}-01-01`), lte(calendarDays.date, `${year}-12-31`)));
  return {
    year, complete: !!marked, completedAt: marked?.completedAt.toISOString() ?? null, completedBy: marked?.completedBy ?? null,
    holidays: counts?.holidays ?? 0, workdays: counts?.workdays ?? 0,
  };
}
