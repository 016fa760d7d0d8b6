import { and, desc, eq, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { subscriptionEvents, subscriptionOrders, subscriptions } from '../../db/schema';
import {
  convertUpdate, renewUpdate, restartSellerCallsUpdate, setPolicyUpdate, subscriptionWorkflowId,
  unsubscribeRenewalUpdate, unsubscribeUpdate, type SubscriptionView,
} from '../../workflows/subscription-messages';
import type { Principal, Role } from '../auth';
import type { RouteContext } from '../app';
import { notFound } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { keyset, pageOf, sortKey } from '../pagination';
import { runUpdate, withTemporalDeadline, type UpdateAnswer } from '../updates';

type Row = typeof subscriptions.$inferSelect;
const idParam = z.strictObject({ id: z.string().min(1).max(64).regex(/^[\x21-\x7e]+$/, 'printable ASCII') });
const iso = (d: Date | null) => d?.toISOString() ?? null;
/**
 * Soonest expiry first (api/pagination.ts); ties by the order line, one per subscription and always our own id (an
 * instance id is the seller's, whose characters a cursor need not take).
 */
const subscriptionPages = keyset<Row>('asc', [sortKey.instant(subscriptions.expiresAt, (r) => r.expiresAt), sortKey.text(subscriptions.orderLineId, (r) => r.orderLineId)]);

const summary = z.object({
  instanceId: z.string(), orderLineId: z.string(), productId: z.string(), skuId: z.string(), merchantId: z.string(), trial: z.boolean(),
  status: z.enum(['trial', 'active', 'frozen', 'released']), stuck: z.string().nullable(), policy: z.enum(['auto_renew', 'no_renewal']),
  deliveredAt: z.string(), expiresAt: z.string(), releaseAt: z.string().nullable().describe('when a frozen (or unrenewed) instance is released'),
  nextAction: z.string().nullable(), nextActionAt: z.string().nullable().describe('ISO 8601 UTC instant of the next scheduled action'),
}).meta({ id: 'Subscription' });
const detail = summary.extend({
  renewals: z.array(z.object({
    orderId: z.string(), kind: z.string(), trigger: z.string().nullable(), periods: z.number(), startsAt: z.string().nullable(), endsAt: z.string().nullable(),
    priceCents: z.number(), status: z.string(), at: z.string(),
  })).describe('renewal orders, the conversion and unsubscriptions, newest first'),
  events: z.array(z.object({ type: z.string(), at: z.string(), data: z.record(z.string(), z.unknown()) })).describe('the latest 200 events, newest first'),
}).meta({ id: 'SubscriptionDetail' });
const liveView = z.object({
  instanceId: z.string(), status: z.string(), stuck: z.string().nullable(), policy: z.string(), trial: z.boolean(), expiresAt: z.string(), releaseAt: z.string().nullable(),
  nextAction: z.string().nullable(), nextActionAt: z.string().nullable(), pendingRenewals: z.array(z.object({ orderId: z.string(), startsAt: z.string(), endsAt: z.string() })),
  sellerCallsOwed: z.number(), sellerCallsWaitingForRestart: z.boolean(),
}).meta({ id: 'SubscriptionState' });

const toSummary = (r: Row) => ({
  instanceId: r.id, orderLineId: r.orderLineId, productId: r.productId, skuId: r.skuId, merchantId: r.merchantId, trial: r.trial, status: r.status,
  stuck: r.stuck, policy: r.policy, deliveredAt: r.deliveredAt.toISOString(), expiresAt: r.expiresAt.toISOString(), releaseAt: iso(r.releaseAt),
  nextAction: r.nextAction, nextActionAt: iso(r.nextActionAt),
});

/** Whose subscriptions a principal reads: a buyer its own, a seller its merchant's, operators all. */
const scope = (p: Principal): SQL | undefined =>
  p.role === 'buyer' ? eq(subscriptions.buyerPrincipalId, p.id) : p.role === 'seller' ? eq(subscriptions.merchantId, p.merchantId!) : undefined;

export function subscriptionRoutes({ router, registry, db, temporal, subscriptions: service }: RouteContext) {
  async function visible(p: Principal, id: string) {
    const [row] = await db.select().from(subscriptions).where(and(eq(subscriptions.id, id), scope(p)));
    if (!row) throw notFound(`subscription ${id}`);
    return row;
  }

  defineRoute(router, registry, {
    method: 'get', path: '/v1/subscriptions', tag: 'Subscriptions', roles: ['buyer', 'seller', 'operator'],
    summary: 'Yearly/monthly subscriptions, soonest expiry first: a buyer\'s own, a seller\'s, or all for operators.',
    query: z.strictObject({ status: z.enum(['trial', 'active', 'frozen', 'released']).optional(), ...subscriptionPages.query }),
    responses: { 200: { description: 'Subscriptions', schema: pageOf(summary) } },
    handler: async ({ principal, query }) => {
      const { rows, nextCursor } = await subscriptionPages.read(query, ({ after, orderBy, limit }) =>
        db.select().from(subscriptions).where(and(scope(principal), query.status ? eq(subscriptions.status, query.status) : undefined, after))
          .orderBy(...orderBy).limit(limit));
      return { body: { items: rows.map(toSummary), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/subscriptions/:id', tag: 'Subscriptions', roles: ['buyer', 'seller', 'operator'],
    summary: 'One subscription with its renewal history and events.', params: idParam,
    responses: { 200: { description: 'The subscription', schema: detail }, 404: { description: 'No such subscription of yours', schema: problemSchema } },
    handler: async ({ principal, params }) => {
      const row = await visible(principal, params.id);
      const orders = await db.select().from(subscriptionOrders).where(eq(subscriptionOrders.instanceId, row.id)).orderBy(desc(subscriptionOrders.createdAt), desc(subscriptionOrders.id));
      const events = await db.select().from(subscriptionEvents).where(eq(subscriptionEvents.instanceId, row.id)).orderBy(desc(subscriptionEvents.at), desc(subscriptionEvents.id)).limit(200);
      return {
        body: {
          ...toSummary(row),
          renewals: orders.map((o) => ({ orderId: o.id, kind: o.kind, trigger: o.trigger, periods: o.periods, startsAt: iso(o.startsAt), endsAt: iso(o.endsAt), priceCents: o.priceCents, status: o.status, at: o.createdAt.toISOString() })),
          events: events.map((e) => ({ type: e.type, at: e.at.toISOString(), data: e.data })),
        },
      };
    },
  });

  /** A message to one subscription's workflow: who may send it, and the Update it becomes. */
  function action<B extends z.ZodObject>(o: { method?: 'post' | 'put'; verb: string; as: Role; summary: string; body: B; extra?: Record<number, { description: string; schema?: z.ZodType }>; update: (id: string, body: z.infer<B>) => Promise<UpdateAnswer<SubscriptionView>> }) {
    defineRoute(router, registry, {
      method: o.method ?? 'post', path: `/v1/subscriptions/:id/${o.verb}`, tag: 'Subscriptions', roles: [o.as], summary: o.summary, params: idParam, body: o.body,
      responses: {
        200: { description: 'The subscription after the change', schema: liveView },
        202: { description: 'Taken and under way; `Location` is the subscription to follow', schema: z.object({ accepted: z.literal(true), location: z.string() }) },
        404: { description: 'No such subscription of yours', schema: problemSchema },
        409: { description: 'The subscription is not in a state that allows this', schema: problemSchema },
        503: { description: 'The process engine is unavailable; `Retry-After` says when to try again', schema: problemSchema }, ...o.extra,
      },
      handler: async ({ res, principal, params, body }) => {
        const row = await visible(principal, params.id);
        await withTemporalDeadline(temporal, () => service.ensureStarted(row.id));
        const answer = await o.update(row.id, body as z.infer<B>);
        if (answer.done) return { body: answer.result };
        const location = `/v1/subscriptions/${encodeURIComponent(row.id)}`;
        res.setHeader('Location', location);
        return { status: 202, body: { accepted: true, location } };
      },
    });
  }
  const handle = (id: string) => temporal.workflow.getHandle(subscriptionWorkflowId(id));
  const send = <A extends [unknown]>(id: string, update: Parameters<typeof runUpdate<SubscriptionView, A>>[3], args: A) =>
    runUpdate<SubscriptionView, A>(temporal, `subscription ${id}`, handle(id), update, args);
  const paid = { 402: { description: 'The balance does not cover it; nothing was charged', schema: problemSchema } };

  action({
    method: 'put', verb: 'expiry-policy', as: 'buyer', body: z.strictObject({ policy: z.enum(['auto_renew', 'no_renewal']) }),
    summary: 'Set the expiry policy: auto_renew (03:00 Asia/Shanghai seven days before expiry, then daily) or no_renewal. It applies from the very next timer.',
    update: (id, b) => send(id, setPolicyUpdate, [b]),
  });
  action({
    verb: 'renew', as: 'buyer', body: z.strictObject({ terms: z.number().int().min(1).max(12).default(1) }), extra: paid,
    summary: 'Renew now for N terms of the SKU, frozen included: the new period starts at the original expiry, and a frozen instance is unfrozen.',
    update: (id, b) => send(id, renewUpdate, [b]),
  });
  action({
    verb: 'convert', as: 'buyer', body: z.strictObject({}), extra: paid,
    summary: 'Convert a trial into a formal subscription: one term is charged and starts now.',
    update: (id) => send(id, convertUpdate, [{}]),
  });
  action({
    verb: 'unsubscribe', as: 'buyer', body: z.strictObject({}),
    summary: 'Unsubscribe within 5 days of provisioning without a reason: a full refund and the instance is released. At most 10 a calendar year (409 after).',
    update: (id) => send(id, unsubscribeUpdate, [{}]),
  });
  action({
    verb: 'unsubscribe-renewal', as: 'buyer', body: z.strictObject({}),
    summary: 'Unsubscribe the latest renewal period that has not begun: it is refunded, the expiry goes back, and the policy becomes no_renewal.',
    update: (id) => send(id, unsubscribeRenewalUpdate, [{}]),
  });
  action({
    verb: 'restart', as: 'seller', body: z.strictObject({}),
    summary: 'After fixing the production interface: the refresh, status and release calls owed to it are tried again, for another hour.',
    update: (id) => send(id, restartSellerCallsUpdate, [{}]),
  });
}
