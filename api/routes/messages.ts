import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { notifications } from '../../db/schema';
import type { RouteContext } from '../app';
import { defineRoute } from '../route';
import { queryInt } from '../schemas';

const message = z.object({ id: z.number().int(), subject: z.string(), body: z.string(), createdAt: z.string() }).meta({ id: 'InSiteMessage' });

export function messageRoutes({ router, registry, db }: RouteContext) {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/messages', tag: 'Messages', roles: ['buyer', 'seller', 'operator'],
    summary: 'My in-site messages, newest first.',
    query: z.strictObject({ limit: queryInt(1, 200).default(50) }),
    responses: { 200: { description: 'Messages', schema: z.object({ items: z.array(message) }) } },
    handler: async ({ principal, query }) => {
      const rows = await db.select().from(notifications)
        .where(and(eq(notifications.recipientPrincipalId, principal.id), eq(notifications.channel, 'inapp')))
        .orderBy(desc(notifications.id)).limit(query.limit);
      return { body: { items: rows.map((r) => ({ id: r.id, subject: r.subject, body: r.body, createdAt: r.createdAt.toISOString() })) } };
    },
  });
}
