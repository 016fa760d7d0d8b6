import { and, eq, exists, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { instances, interfaceMessages, orderLines, orders } from '../../db/schema';
import { newId } from '../../domain/ids';
import { createSellerClient, maskSecrets, queryInstanceReply } from '../../seller-client';
import {
  cancelUpdate, manualDeliveryUpdate, restartUpdate, saasProvisionWorkflowId, type ProvisionState,
} from '../../workflows/saas-provision-messages';
import type { Principal } from '../auth';
import type { RouteContext } from '../app';
import { keyset, pageOf, sortKey } from '../pagination';
import { conflict, notFound, Problem } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { idempotencyHeaders, idParam } from '../schemas';
import { runUpdate, type UpdateAnswer } from '../updates';

type Order = typeof orders.$inferSelect;
type Line = typeof orderLines.$inferSelect;
/** Replies are stored masked; what is read back is also cut short (a seller may have answered 64 KB). */
const READ_BACK_CHARS = 4096;
const readBack = (response: string | null) => (response && response.length > READ_BACK_CHARS ? `${response.slice(0, READ_BACK_CHARS)}…[truncated]` : response);
const lineParam = z.strictObject({ id: z.string().regex(/^CS[A-Z0-9]{8,30}-\d{6}$/, 'malformed order line id') });
const lineView = z.object({
  id: z.string(), productId: z.string(), skuId: z.string(), merchantId: z.string(), status: z.string(), provisioning: z.string(),
  priceCents: z.number(), instanceId: z.string().nullable(), failure: z.string().nullable(), instanceConflict: z.boolean(),
}).meta({ id: 'OrderLine' });
const orderView = z.object({ id: z.string(), status: z.string(), totalCents: z.number(), createdAt: z.string(), lines: z.array(lineView) }).meta({ id: 'Order' });
const toLine = (l: Line) => ({
  id: l.id, productId: l.productId, skuId: l.skuId, merchantId: l.merchantId, status: l.status, provisioning: l.provisioning,
  priceCents: l.priceCents, instanceId: l.instanceId, failure: l.failure, instanceConflict: l.instanceConflict,
});
/** A seller sees only its own lines of an order; buyers and operators all of them. */
const shownLines = (p: Principal, lines: Line[]) => (p.role === 'seller' ? lines.filter((l) => l.merchantId === p.merchantId) : lines);
const orderPages = keyset<Order>('desc', [sortKey.instant(orders.createdAt, (o) => o.createdAt), sortKey.text(orders.id, (o) => o.id)]);
const toOrder = (o: Order, lines: Line[]) => ({ id: o.id, status: o.status, totalCents: o.totalCents, createdAt: o.createdAt.toISOString(), lines: lines.map(toLine) });

// Live instance details are read from the seller and kept briefly, so a buyer's page does not call the seller each time.
const INSTANCE_CACHE_MS = 60_000;
const INSTANCE_CACHE_MAX = 10_000;

export function orderRoutes({ router, registry, db, config, temporal, orders: service }: RouteContext) {
  /** The line if the caller may act on it: its buyer, the seller it belongs to, or an operator. */
  async function visibleLine(p: Principal, id: string, as: 'buyer' | 'seller') {
    const [row] = await db.select({ line: orderLines, order: orders }).from(orderLines).innerJoin(orders, eq(orders.id, orderLines.orderId)).where(eq(orderLines.id, id));
    const mine = row && (as === 'buyer' ? row.order.buyerPrincipalId === p.id : p.merchantId === row.line.merchantId);
    if (!row || !mine) throw notFound(`order line ${id}`);
    return row.line;
  }
  const handle = (lineId: string) => temporal.workflow.getHandle(saasProvisionWorkflowId(lineId));

  defineRoute(router, registry, {
    method: 'post', path: '/v1/orders', tag: 'Orders', roles: ['buyer'],
    summary: 'Place an order, paid from the account balance. SaaS lines are provisioned through the seller\'s production interface.',
    headers: idempotencyHeaders, body: z.strictObject({ items: z.array(z.strictObject({ skuId: z.string().regex(/^[A-Z0-9]{4,40}$/) })).min(1).max(20) }),
    responses: {
      201: { description: 'The order', schema: orderView }, 200: { description: 'Same Idempotency-Key: that order', schema: orderView },
      402: { description: 'The balance is too low; nothing was created', schema: problemSchema },
      422: { description: 'An item cannot be ordered', schema: problemSchema },
    },
    handler: async ({ req, principal, body }) => {
      const { order, lines, created } = await service.place(principal.id, body.items, req.get('idempotency-key'));
      return { status: created ? 201 : 200, body: toOrder(order, lines) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/orders', tag: 'Orders', roles: ['buyer', 'seller'],
    summary: 'My orders, newest first: a buyer\'s own; for a seller, the orders that hold its lines, with only its lines.',
    query: z.strictObject({ ...orderPages.query }),
    responses: { 200: { description: 'Orders', schema: pageOf(orderView) } },
    handler: async ({ principal, query }) => {
      const mine = principal.role === 'seller'
        ? exists(db.select({ one: sql`1` }).from(orderLines).where(and(eq(orderLines.orderId, orders.id), eq(orderLines.merchantId, principal.merchantId!))))
        : eq(orders.buyerPrincipalId, principal.id);
      const { rows, nextCursor } = await orderPages.read(query, ({ after, orderBy, limit }) =>
        db.select().from(orders).where(and(mine, after)).orderBy(...orderBy).limit(limit));
      const lines = rows.length ? await db.select().from(orderLines).where(inArray(orderLines.orderId, rows.map((r) => r.id))).orderBy(orderLines.id) : [];
      return { body: { items: rows.map((o) => toOrder(o, shownLines(principal, lines.filter((l) => l.orderId === o.id)))), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/orders/:id', tag: 'Orders', roles: ['buyer', 'seller', 'operator'],
    summary: 'One order. A seller sees only its own lines of it.', params: idParam,
    responses: { 200: { description: 'The order', schema: orderView }, 404: { description: 'No such order for you', schema: problemSchema } },
    handler: async ({ principal, params }) => {
      const [order] = await db.select().from(orders).where(eq(orders.id, params.id));
      const shown = shownLines(principal, order ? await db.select().from(orderLines).where(eq(orderLines.orderId, order.id)) : []);
      if (!order || (principal.role === 'buyer' && order.buyerPrincipalId !== principal.id) || (principal.role === 'seller' && shown.length === 0)) throw notFound(`order ${params.id}`);
      return { body: toOrder(order, shown) };
    },
  });

  const provisionView = z.object({
    status: z.string(), attempts: z.number(), instanceId: z.string().nullable(), lastError: z.string().nullable(),
    refundedCents: z.number().nullable().describe('The refund when the action closed the line (cancel), in cents'),
  });
  const actionResponses = {
    200: { description: 'The provisioning state after the action took effect', schema: provisionView },
    202: { description: 'The action was taken and is under way; `Location` is the order to follow', schema: z.object({ accepted: z.literal(true), location: z.string() }) },
    503: { description: 'The process engine is unavailable; `Retry-After` says when to try again', schema: problemSchema },
    404: { description: 'No such order line of yours', schema: problemSchema },
    409: { description: 'The order line is not in a state that allows this', schema: problemSchema },
  };
  const stateView = (s: { status: string; attempts: number; instanceId: string | null; lastError: string | null; refundedCents?: number | null }) =>
    ({ status: s.status, attempts: s.attempts, instanceId: s.instanceId, lastError: s.lastError, refundedCents: s.refundedCents ?? null });

  /** An action on one order line: who may, on which line, and the Update it becomes. */
  function lineAction<B extends z.ZodObject>(o: {
    verb: 'cancel' | 'restart' | 'deliver'; as: 'buyer' | 'seller'; tag: string; summary: string; body: B;
    update: (lineId: string, principalId: string, body: z.infer<B>) => Promise<UpdateAnswer<ProvisionState>>;
  }) {
    defineRoute(router, registry, {
      method: 'post', path: `/v1/order-lines/:id/${o.verb}`, tag: o.tag, roles: [o.as], summary: o.summary,
      params: lineParam, body: o.body, responses: actionResponses,
      handler: async ({ res, principal, params, body }) => {
        const line = await visibleLine(principal, params.id, o.as);
        // A closed line has no running workflow to ask: answer from the database.
        if (line.status !== 'processing') throw conflict(`order line ${params.id} is ${line.status}`);
        const answer = await o.update(params.id, principal.id, body as z.infer<B>);
        if (answer.done) return { body: stateView(answer.result) };
        const location = `/v1/orders/${line.orderId}`;
        res.setHeader('Location', location);
        return { status: 202, body: { accepted: true, location } };
      },
    });
  }
  lineAction({
    verb: 'cancel', as: 'buyer', tag: 'Orders', body: z.strictObject({}),
    summary: 'Cancel an order line that is not delivered; the price returns to the balance.',
    update: (id, buyerId) => runUpdate(temporal, `order line ${id}`, handle(id), cancelUpdate, [{ buyerId }]),
  });
  lineAction({
    verb: 'restart', as: 'seller', tag: 'Provisioning', body: z.strictObject({}),
    summary: 'After the automatic retries stopped: one immediate newInstance call with the same order ids.',
    update: (id, sellerId) => runUpdate(temporal, `order line ${id}`, handle(id), restartUpdate, [{ sellerId }]),
  });
  lineAction({
    verb: 'deliver', as: 'seller', tag: 'Provisioning', body: z.strictObject({ instanceId: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'printable ASCII without spaces, at most 64 characters') }),
    summary: 'Deliver by hand with the instance the seller created outside the interface.',
    update: (id, sellerId, b) => runUpdate(temporal, `order line ${id}`, handle(id), manualDeliveryUpdate, [{ sellerId, instanceId: b.instanceId }]),
  });

  const message = z.object({
    id: z.number(), orderLineId: z.string().nullable(), activity: z.string(), outcome: z.string(), resultCode: z.string().nullable(),
    httpStatus: z.number().nullable(), error: z.string().nullable(), latencyMs: z.number(), at: z.string(), request: z.record(z.string(), z.unknown()), response: z.string().nullable(),
  }).meta({ id: 'InterfaceMessage' });
  const messagePages = keyset<typeof interfaceMessages.$inferSelect>('desc', [sortKey.int(interfaceMessages.id, (m) => m.id)]);
  defineRoute(router, registry, {
    method: 'get', path: '/v1/interface-messages', tag: 'Provisioning', roles: ['seller', 'operator'],
    summary: 'Production interface messages: every call to a seller with its request, response or error, and latency.',
    query: z.strictObject({ orderLineId: lineParam.shape.id.optional(), ...messagePages.query }),
    responses: { 200: { description: 'Messages, newest first', schema: pageOf(message) } },
    handler: async ({ principal, query }) => {
      const { rows, nextCursor } = await messagePages.read(query, ({ after, orderBy, limit }) => db.select().from(interfaceMessages).where(and(
        principal.role === 'seller' ? eq(interfaceMessages.merchantId, principal.merchantId!) : undefined,
        query.orderLineId ? eq(interfaceMessages.orderLineId, query.orderLineId) : undefined, after,
      )).orderBy(...orderBy).limit(limit));
      return { body: { nextCursor, items: rows.map((m) => ({ id: m.id, orderLineId: m.orderLineId, activity: m.activity, outcome: m.outcome, resultCode: m.resultCode, httpStatus: m.httpStatus, error: m.error, latencyMs: m.latencyMs, at: m.at.toISOString(), request: m.request, response: readBack(m.response) })) } };
    },
  });

  const sellers = createSellerClient({ db, config });
  const cache = new Map<string, { until: number; body: unknown }>();
  defineRoute(router, registry, {
    method: 'get', path: '/v1/instances/:id', tag: 'Orders', roles: ['buyer', 'operator'],
    summary: 'A delivered SaaS instance with its front-end URL, admin URL and credentials, read live from the seller (queryInstance) and cached for a minute.',
    params: z.strictObject({ id: z.string().min(1).max(64).regex(/^[\x21-\x7e]+$/) }),
    responses: {
      200: { description: 'The instance', schema: z.object({ instanceId: z.string(), orderLineId: z.string(), productId: z.string(), appInfo: z.record(z.string(), z.unknown()).nullable(), usageInfo: z.array(z.record(z.string(), z.unknown())).nullable(), live: z.boolean() }) },
      404: { description: 'No such instance of yours', schema: problemSchema },
      502: { description: 'The seller did not answer', schema: problemSchema },
    },
    handler: async ({ principal, params }) => {
      const [inst] = await db.select().from(instances).where(eq(instances.id, params.id));
      if (!inst || (principal.role === 'buyer' && inst.buyerPrincipalId !== principal.id)) throw notFound(`instance ${params.id}`);
      const hit = cache.get(params.id);
      // The buyer who owns the instance reads its credentials; operators see them masked.
      const shown = (body: object) => (principal.role === 'buyer' ? body : maskSecrets(body));
      if (hit && hit.until > Date.now()) return { body: { ...shown(hit.body as object), live: false } };
      const r = await sellers.call({
        productId: inst.productId, activity: 'queryInstance', body: { instanceId: params.id }, reply: queryInstanceReply,
        record: { dedupeKey: `view:${params.id}:${newId('', 16)}`, orderLineId: inst.orderLineId },
      });
      if (!r.data || r.resultCode !== '000000') throw new Problem(502, 'Bad Gateway', `the seller's interface did not answer: ${r.fault?.message ?? `result code ${r.resultCode}`}`);
      const info = r.data.info?.find((i) => i.instanceId === params.id);
      const body = { instanceId: params.id, orderLineId: inst.orderLineId, productId: inst.productId, appInfo: info?.appInfo ?? null, usageInfo: info?.usageInfo ?? null };
      // Oldest entry out first: the Map keeps insertion order.
      if (cache.size >= INSTANCE_CACHE_MAX) cache.delete(cache.keys().next().value!);
      cache.set(params.id, { until: Date.now() + INSTANCE_CACHE_MS, body });
      return { body: { ...shown(body), live: true } };
    },
  });
}
