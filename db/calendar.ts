import { asc } from 'drizzle-orm';
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
