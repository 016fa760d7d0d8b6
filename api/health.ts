import type { Config } from '../config';
import { incompleteCalendarYears } from '../db/calendar';
import type { Db } from '../db/client';

const CACHE_MS = 30_000;

/**
 * What /healthz reports besides being up: the calendar years nobody has marked complete and whether demo
 * durations are on. Read at most every 30 s, so probes cost no query each; a failed read is reported, not fatal.
 */
export function createHealth(db: Db, config: Pick<Config, 'DEMO_FAST'>) {
  let cached: { until: number; body: Record<string, unknown> } | undefined;
  return async (): Promise<Record<string, unknown>> => {
    if (cached && cached.until > Date.now()) return cached.body;
    const warnings: string[] = [];
    let incompleteYears: number[] | null = null;
    try {
      incompleteYears = await incompleteCalendarYears(db);
      for (const y of incompleteYears) warnings.push(calendarWarning(y));
    } catch (e) {
      warnings.push(`the calendar could not be read: ${(e as Error).message}`);
    }
    if (config.DEMO_FAST) warnings.push(DEMO_WARNING);
    const body = { ok: true, demoFast: config.DEMO_FAST, calendar: { incompleteYears }, warnings };
    cached = { until: Date.now() + CACHE_MS, body };
    return body;
  };
}

export const calendarWarning = (year: number) =>
  `the working-day calendar of ${year} is not marked complete: enter its holidays and make-up days (PUT /v1/calendar/{date}), then PUT /v1/calendar/years/${year}`;
export const DEMO_WARNING = 'DEMO_FAST is on: review deadlines, provisioning retries and supervision timers last minutes. Never run production like this.';
