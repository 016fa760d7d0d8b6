import { and, eq, gte, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import { calendarYear } from '../../db/calendar';
import { calendarDays, calendarYears } from '../../db/schema';
import type { RouteContext } from '../app';
import { keyset, pageOf, sortKey } from '../pagination';
import { notFound, Problem } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { isoDate, text } from '../schemas';

const date = isoDate;
const dayPages = keyset<{ date: string }>('asc', [sortKey.text(calendarDays.date, (d) => d.date)]);
const yearPages = keyset<{ year: number }>('asc', [sortKey.int(calendarYears.year, (y) => y.year)]);
const day = z.object({ date: z.string(), kind: z.enum(['holiday', 'workday']), name: z.string() }).meta({ id: 'CalendarDay' });

export function calendarRoutes({ router, registry, db }: RouteContext) {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/calendar', tag: 'Working-day calendar', roles: ['buyer', 'seller', 'operator'],
    summary: 'Statutory holidays and make-up working days (Asia/Shanghai) that review deadlines count with.',
    query: z.strictObject({ from: date.optional(), to: date.optional(), ...dayPages.query }),
    responses: { 200: { description: 'Days', schema: pageOf(day) } },
    handler: async ({ query }) => {
      const { rows, nextCursor } = await dayPages.read(query, ({ after, orderBy, limit }) => db.select().from(calendarDays)
        .where(and(query.from ? gte(calendarDays.date, query.from) : undefined, query.to ? lte(calendarDays.date, query.to) : undefined, after))
        .orderBy(...orderBy).limit(limit));
      return { body: { items: rows.map(({ date: d, kind, name }) => ({ date: d, kind, name })), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'put', path: '/v1/calendar/:date', tag: 'Working-day calendar', roles: ['operator'],
    summary: 'Declare a holiday or a make-up working day. Deadlines already set keep their value; new rounds count with it.',
    params: z.strictObject({ date }), body: z.strictObject({ kind: z.enum(['holiday', 'workday']), name: text(100) }),
    responses: { 200: { description: 'The day', schema: day } },
    handler: async ({ params, body }) => {
      await db.insert(calendarDays).values({ date: params.date, ...body })
        .onConflictDoUpdate({ target: calendarDays.date, set: { ...body, updatedAt: new Date() } });
      return { body: { date: params.date, ...body } };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/calendar/:date', tag: 'Working-day calendar', roles: ['operator'],
    summary: 'Remove a declared day; it falls back to the weekday rule.', params: z.strictObject({ date }),
    responses: { 200: { description: 'Removed', schema: day }, 404: { description: 'Not declared', schema: problemSchema } },
    handler: async ({ params }) => {
      const [row] = await db.delete(calendarDays).where(eq(calendarDays.date, params.date)).returning();
      if (!row) throw notFound(`calendar day ${params.date}`);
      return { body: { date: row.date, kind: row.kind, name: row.name } };
    },
  });

  const yearParam = z.strictObject({ year: z.string().regex(/^20\d\d$/, 'must be a year 2000–2099').transform(Number) });
  const yearView = z.object({
    year: z.number().int(), complete: z.boolean(), completedAt: z.string().nullable(), completedBy: z.string().nullable(),
    holidays: z.number().int(), workdays: z.number().int(),
  }).meta({ id: 'CalendarYear' });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/calendar/years', tag: 'Working-day calendar', roles: ['buyer', 'seller', 'operator'],
    summary: 'Every year that has entries or is marked complete, with its counts. A year counts as entered only when marked complete.',
    query: z.strictObject({ ...yearPages.query }),
    responses: { 200: { description: 'Years', schema: pageOf(yearView) } },
    handler: async ({ query }) => {
      const days = await db.selectDistinct({ year: sql<number>`cast(substr(${calendarDays.date}, 1, 4) as integer)`.mapWith(Number) }).from(calendarDays);
      const marked = await db.select({ year: calendarYears.year }).from(calendarYears);
      const { rows, nextCursor } = yearPages.slice([...new Set([...days, ...marked].map((r) => r.year))].map((year) => ({ year })), query);
      return { body: { items: await Promise.all(rows.map((r) => calendarYear(db, r.year))), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'put', path: '/v1/calendar/years/:year', tag: 'Working-day calendar', roles: ['operator'],
    summary: "Mark a year's calendar complete once its holidays and make-up days are entered; until then start-up warns and /healthz names the year.",
    params: yearParam, body: z.strictObject({}),
    responses: {
      200: { description: 'The year, marked complete', schema: yearView },
      422: { description: 'No holidays are entered for the year yet', schema: problemSchema },
    },
    handler: async ({ principal, params }) => {
      const before = await calendarYear(db, params.year);
      // A year without a single holiday was not entered: every real year has statutory holidays.
      if (before.holidays === 0) throw new Problem(422, 'Unprocessable Content', `no holidays are entered for ${params.year}: enter them with PUT /v1/calendar/{date} first`);
      await db.insert(calendarYears).values({ year: params.year, completedBy: principal.id }).onConflictDoNothing();
      return { body: await calendarYear(db, params.year) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/calendar/years/:year', tag: 'Working-day calendar', roles: ['operator'],
    summary: 'Reopen a year (for example while a revised notice is entered): it counts as not entered again.', params: yearParam,
    responses: { 200: { description: 'The year, reopened', schema: yearView }, 404: { description: 'Not marked complete', schema: problemSchema } },
    handler: async ({ params }) => {
      const [row] = await db.delete(calendarYears).where(eq(calendarYears.year, params.year)).returning();
      if (!row) throw notFound(`a completed calendar year ${params.year}`);
      return { body: await calendarYear(db, params.year) };
    },
  });
}
