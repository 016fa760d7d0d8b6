import { and, asc, eq, gte, lte } from 'drizzle-orm';
import { z } from 'zod';
import { calendarDays } from '../../db/schema';
import { ISO_DATE } from '../../domain/working-days';
import type { RouteContext } from '../app';
import { notFound } from '../problem';
import { defineRoute, problemSchema } from '../route';

const date = z.string().regex(ISO_DATE, 'must be a date YYYY-MM-DD').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'no such date');
const day = z.object({ date: z.string(), kind: z.enum(['holiday', 'workday']), name: z.string() }).meta({ id: 'CalendarDay' });

export function calendarRoutes({ router, registry, db }: RouteContext) {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/calendar', tag: 'Working-day calendar', roles: ['buyer', 'seller', 'operator'],
    summary: 'Statutory holidays and make-up working days (Asia/Shanghai) that review deadlines count with.',
    query: z.strictObject({ from: date.optional(), to: date.optional() }),
    responses: { 200: { description: 'Days', schema: z.object({ items: z.array(day) }) } },
    handler: async ({ query }) => {
      const rows = await db.select().from(calendarDays)
        .where(and(query.from ? gte(calendarDays.date, query.from) : undefined, query.to ? lte(calendarDays.date, query.to) : undefined))
        .orderBy(asc(calendarDays.date));
      return { body: { items: rows.map(({ date: d, kind, name }) => ({ date: d, kind, name })) } };
    },
  });

  defineRoute(router, registry, {
    method: 'put', path: '/v1/calendar/:date', tag: 'Working-day calendar', roles: ['operator'],
    summary: 'Declare a holiday or a make-up working day. Deadlines already set keep their value; new rounds count with it.',
    params: z.strictObject({ date }), body: z.strictObject({ kind: z.enum(['holiday', 'workday']), name: z.string().trim().min(1).max(100) }),
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
}
