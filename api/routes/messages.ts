import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { notifications } from '../../db/schema';
import type { RouteContext } from '../app';
import { defineRoute } from '../route';
import { keyset, pageOf, sortKey } from '../pagination';

const pages = keyset<typeof notifications.$inferSelect>('desc', [sortKey.int(notifications.id, (n) => n.id)]);
const message = z.object({ id: z.number().int(), subject: z.string(), body: z.string(), createdAt: z.string() }).meta({ id: 'InSiteMessage' });

export function messageRoutes({ router, registry, db }: RouteContext) {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/messages', tag: 'Messages', roles: ['buyer', 'seller', 'operator'],
    summary: 'My in-site messages, newest first.',
    query: z.strictObject({ ...pages.query }),
    responses: { 200: { description: 'Messages', schema: pageOf(message) } },
    handler: async ({ principal, query }) => {
      const { rows, nextCursor } = await pages.read(query, ({ after, orderBy, limit }) => db.select().from(notifications)
        .where(and(eq(notifications.recipientPrincipalId, principal.id), eq(notifications.channel, 'inapp'), after))
        .orderBy(...orderBy).limit(limit));
      return { body: { nextCursor, items: rows.map((r) => ({ id: r.id, subject: r.subject, body: r.body, createdAt: r.createdAt.toISOString() })) } };
    },
  });
}
