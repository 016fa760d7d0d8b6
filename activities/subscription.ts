import { and, count, eq, lt, or, sql } from 'drizzle-orm';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { balanceOf, charge, refund, saleKeys, settle } from '../db/ledger';
import { principals, skus, subscriptionEvents, subscriptionOrders, subscriptions } from '../db/schema';
import { idFromKey } from '../domain/ids';
import { sellerTime, shanghaiYear } from '../domain/periods';
import { retentionDaysFor } from '../domain/subscription';
import { createSellerClient, type Judgement } from '../seller-client';
import { subscriptionStartOptions, type SellerCall, type SubscriptionState, type SubscriptionView } from '../workflows/subscription-messages';

/** A subscription's own orders: `CS` + yyMMddHHmm (Asia/Shanghai) + 10 characters from the instance and what the order is. */
export function subscriptionOrderId(instanceId: string, what: string, at: number): string {
  const local = new Date(at + 8 * 3_600_000).toISOString();
  const stamp = `${local.slice(2, 4)}${local.slice(5, 7)}${local.slice(8, 10)}${local.slice(11, 13)}${local.slice(14, 16)}`;
  return `CS${stamp}${idFromKey('', instanceId, what, 10)}`;
}

const notFound = (what: string) => ApplicationFailure.nonRetryable(`${what} not found`, 'SubscriptionRowMissing');

export function createSubscriptionActivities({ db, config, temporal }: { db: Db; config: Config; temporal?: Client }) {
  const sellers = createSellerClient({ db, config });

  async function event(tx: Db, instanceId: string, key: string, type: string, at: number, data: Record<string, unknown> = {}) {
    await tx.insert(subscriptionEvents).values({ instanceId, key: `${instanceId}:${key}`, type, data, at: new Date(at) }).onConflictDoNothing();
  }
  async function skuOf(tx: Db, skuId: string) {
    const [sku] = await tx.select().from(skus).where(eq(skus.id, skuId));
    if (!sku) throw notFound(`SKU ${skuId}`);
    return sku;
  }

  return {
    /**
     * Starts the subscription of a delivered instance (the provisioning workflow calls it after the delivery); its
     * row is already the durable record, so without a client here the subscriptions sweep starts it instead.
     */
    async startSubscription(a: { instanceId: string }): Promise<boolean> {
      const [row] = await db.select().from(subscriptions).where(eq(subscriptions.id, a.instanceId));
      if (!row || !temporal) return false;
      await temporal.workflow.start('subscription', subscriptionStartOptions(row, config.TEMPORAL_TASK_QUEUE)).catch((e: unknown) => {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      });
      return true;
    },

    /**
     * The first run's state, from the row written at delivery and the configuration now (snapshotted into the
     * workflow). Marks the row's workflow as started: whoever started it, the row's first run says so.
     */
    async beginSubscription(a: { instanceId: string; at: number }): Promise<SubscriptionState> {
      const [row] = await db.select({ s: subscriptions, level: principals.customerLevel }).from(subscriptions)
        .innerJoin(principals, eq(principals.id, subscriptions.buyerPrincipalId)).where(eq(subscriptions.id, a.instanceId));
      if (!row) throw notFound(`subscription ${a.instanceId}`);
      const sku = await skuOf(db, row.s.skuId);
      await db.update(subscriptions).set({ workflowStartedAt: new Date(a.at) }).where(and(eq(subscriptions.id, a.instanceId), sql`${subscriptions.workflowStartedAt} is null`));
      const s = row.s;
      const [hh, mm] = config.SUBSCRIPTION_RENEWAL_TIME.split(':').map(Number) as [number, number];
      return {
        instanceId: s.id, orderLineId: s.orderLineId, buyerId: s.buyerPrincipalId, merchantId: s.merchantId, productId: s.productId, skuId: s.skuId,
        terms: {
          unit: sku.chargingMode === 'yearly' ? 'year' : 'month', termPeriods: sku.periods,
          retentionDays: retentionDaysFor(row.level, config.SUBSCRIPTION_RETENTION_DAYS),
          renewal: { leadDays: config.SUBSCRIPTION_RENEWAL_LEAD_DAYS, minuteOfDay: hh * 60 + mm },
        },
        status: s.trial ? 'trial' : 'active', policy: s.policy, policySince: s.deliveredAt.getTime(), expiresAt: s.expiresAt.getTime(), renewals: [], lastAttemptAt: null, noticeFor: null,
        deliveredAt: s.deliveredAt.getTime(), anchorAt: s.deliveredAt.getTime(), periodsPaid: s.trial ? 0 : sku.periods, renewalCount: 0,
        outbox: { calls: [], attempt: 0, nextAttemptAt: null, retryUntil: null, waiting: false, nextSeq: 1 },
        settings: {
          unsubscribeWindowDays: config.SUBSCRIPTION_UNSUBSCRIBE_DAYS, retryIntervalMs: config.SUBSCRIPTION_SELLER_RETRY_INTERVAL_MS,
          retryWindowMs: config.SUBSCRIPTION_SELLER_RETRY_WINDOW_MS, historyLimit: config.SUBSCRIPTION_HISTORY_LIMIT,
        },
        revision: 0, run: 0,
      };
    },

    /** Writes the read model, unless a later revision is already there, and the event that changed it (once per key). */
    async saveSubscription(a: { view: SubscriptionView; revision: number; event?: { key: string; type: string; at: number; data?: Record<string, unknown> } }) {
      const v = a.view;
      await db.transaction(async (tx) => {
        await tx.update(subscriptions).set({
          status: v.status, stuck: v.stuck, policy: v.policy, expiresAt: new Date(v.expiresAt), releaseAt: v.releaseAt ? new Date(v.releaseAt) : null,
          nextAction: v.nextAction, nextActionAt: v.nextActionAt ? new Date(v.nextActionAt) : null, version: a.revision, updatedAt: new Date(),
        }).where(and(eq(subscriptions.id, v.instanceId), lt(subscriptions.version, a.revision)));
        if (a.event) await event(tx, v.instanceId, a.event.key, a.event.type, a.event.at, a.event.data);
      });
    },

    /**
     * Charges one renewal of `periods` and records its order, or answers `ok: false` with the balance when it
     * does not cover it (the failed attempt is recorded as an event). Idempotent: the order id comes from the
     * instance and the renewal's number, so a retried attempt finds its charge.
     */
    async renew(a: { instanceId: string; seq: number; trigger: 'auto' | 'manual'; terms: number; periods: number; startsAt: number; endsAt: number; at: number }):
      Promise<{ ok: true; orderId: string; orderLineId: string; priceCents: number } | { ok: false; balanceCents: number; priceCents: number }> {
      const [s] = await db.select().from(subscriptions).where(eq(subscriptions.id, a.instanceId));
      if (!s) throw notFound(`subscription ${a.instanceId}`);
      const sku = await skuOf(db, s.skuId);
      const price = sku.priceCents * a.terms;
      const orderId = subscriptionOrderId(a.instanceId, `renewal:${a.seq}`, a.at);
      const orderLineId = `${orderId}-000001`;
      return db.transaction(async (tx) => {
        const paid = await charge(tx, {
          orderLineId, orderId, buyerId: s.buyerPrincipalId, merchantId: s.merchantId, productId: s.productId, instanceId: s.id,
          amountCents: price, sale: 'renewal', memo: `${a.trigger} renewal, ${a.terms} term(s)`, at: new Date(a.at),
        });
        if (!paid.ok) {
          await event(tx, a.instanceId, `renewal-failed:${a.at}`, 'renewal_failed', a.at, { trigger: a.trigger, priceCents: price, balanceCents: paid.balanceCents });
          return { ok: false as const, balanceCents: paid.balanceCents, priceCents: price };
        }
        await tx.insert(subscriptionOrders).values({
          id: orderId, orderLineId, instanceId: s.id, buyerPrincipalId: s.buyerPrincipalId, kind: 'renewal', trigger: a.trigger, periods: a.periods,
          startsAt: new Date(a.startsAt), endsAt: new Date(a.endsAt), priceCents: price, status: 'paid', createdAt: new Date(a.at),
        }).onConflictDoNothing();
        await event(tx, a.instanceId, `renewed:${orderId}`, 'renewed', a.at, { orderId, trigger: a.trigger, terms: a.terms, from: new Date(a.startsAt).toISOString(), to: new Date(a.endsAt).toISOString(), priceCents: price });
        return { ok: true as const, orderId, orderLineId, priceCents: price };
      });
    },

    /** A paid period begins: its sale settles to the seller (spec §8: renewals when they take effect). */
    async beginPeriod(a: { instanceId: string; orderId: string; orderLineId: string; at: number }) {
      await db.transaction(async (tx) => {
        await settle(tx, { orderLineId: a.orderLineId, at: new Date(a.at), memo: 'renewal period began' });
        await tx.update(subscriptionOrders).set({ status: 'effective', updatedAt: new Date() }).where(and(eq(subscriptionOrders.id, a.orderId), eq(subscriptionOrders.status, 'paid')));
        await event(tx, a.instanceId, `period:${a.orderId}`, 'period_began', a.at, { orderId: a.orderId });
      });
    },

    /** A trial becomes formal: one term charged and settled at once (the formal period starts now). */
    async convert(a: { instanceId: string; periods: number; startsAt: number; endsAt: number; at: number }):
      Promise<{ ok: true; orderId: string; orderLineId: string } | { ok: false; balanceCents: number; priceCents: number }> {
      const [s] = await db.select().from(subscriptions).where(eq(subscriptions.id, a.instanceId));
      if (!s) throw notFound(`subscription ${a.instanceId}`);
      const sku = await skuOf(db, s.skuId);
      const orderId = subscriptionOrderId(a.instanceId, 'conversion', a.at);
      const orderLineId = `${orderId}-000001`;
      return db.transaction(async (tx) => {
        const paid = await charge(tx, {
          orderLineId, orderId, buyerId: s.buyerPrincipalId, merchantId: s.merchantId, productId: s.productId, instanceId: s.id,
          amountCents: sku.priceCents, sale: 'conversion', memo: 'trial converted', at: new Date(a.at),
        });
        if (!paid.ok) return { ok: false as const, balanceCents: paid.balanceCents, priceCents: sku.priceCents };
        await settle(tx, { orderLineId, at: new Date(a.at), memo: 'trial converted' });
        await tx.insert(subscriptionOrders).values({
          id: orderId, orderLineId, instanceId: s.id, buyerPrincipalId: s.buyerPrincipalId, kind: 'conversion', trigger: 'manual', periods: a.periods,
          startsAt: new Date(a.startsAt), endsAt: new Date(a.endsAt), priceCents: sku.priceCents, status: 'effective', createdAt: new Date(a.at),
        }).onConflictDoNothing();
        await event(tx, a.instanceId, 'converted', 'converted', a.at, { orderId, to: new Date(a.endsAt).toISOString() });
        return { ok: true as const, orderId, orderLineId };
      });
    },

    /**
     * The 5-day no-reason unsubscription (spec §7.3): at most `quota` per buyer per Asia/Shanghai calendar year.
     * Refunds every sale of the instance (the first order line and any renewal or conversion) in the same
     * transaction. The buyer's ledger row is locked first, so two unsubscriptions at once cannot both take the 10th.
     */
    async unsubscribe(a: { instanceId: string; at: number }): Promise<{ ok: true; orderId: string; orderLineId: string; refundedCents: number } | { ok: false; used: number; quota: number }> {
      const [s] = await db.select().from(subscriptions).where(eq(subscriptions.id, a.instanceId));
      if (!s) throw notFound(`subscription ${a.instanceId}`);
      const year = shanghaiYear(new Date(a.at));
      return db.transaction(async (tx) => {
        await balanceOf(tx, s.buyerPrincipalId, { lock: true });
        const [done] = await tx.select().from(subscriptionOrders).where(and(eq(subscriptionOrders.instanceId, s.id), eq(subscriptionOrders.kind, 'unsubscribe')));
        if (done) return { ok: true as const, orderId: done.id, orderLineId: done.orderLineId, refundedCents: done.priceCents };
        const [{ n }] = await tx.select({ n: count() }).from(subscriptionOrders)
          .where(and(eq(subscriptionOrders.buyerPrincipalId, s.buyerPrincipalId), eq(subscriptionOrders.kind, 'unsubscribe'), eq(subscriptionOrders.year, year))) as [{ n: number }];
        if (n >= config.SUBSCRIPTION_UNSUBSCRIBE_QUOTA) {
          await event(tx, s.id, `unsubscribe-refused:${a.at}`, 'unsubscribe_refused', a.at, { used: n, quota: config.SUBSCRIPTION_UNSUBSCRIBE_QUOTA, year });
          return { ok: false as const, used: n, quota: config.SUBSCRIPTION_UNSUBSCRIBE_QUOTA };
        }
        const sales = [s.orderLineId, ...(await tx.select({ line: subscriptionOrders.orderLineId }).from(subscriptionOrders)
          .where(and(eq(subscriptionOrders.instanceId, s.id), or(eq(subscriptionOrders.kind, 'renewal'), eq(subscriptionOrders.kind, 'conversion'))))).map((r) => r.line)];
        let refunded = 0;
        for (const line of sales) {
          const r = await refund(tx, { orderLineId: line, memo: 'unsubscribed within 5 days, no reason needed', at: new Date(a.at) });
          if (r && r.key === saleKeys(line).refund) refunded += r.grossCents;
        }
        const orderId = subscriptionOrderId(s.id, 'unsubscribe', a.at);
        await tx.update(subscriptionOrders).set({ status: 'refunded', updatedAt: new Date() }).where(and(eq(subscriptionOrders.instanceId, s.id), or(eq(subscriptionOrders.kind, 'renewal'), eq(subscriptionOrders.kind, 'conversion'))));
        await tx.insert(subscriptionOrders).values({
          id: orderId, orderLineId: `${orderId}-000001`, instanceId: s.id, buyerPrincipalId: s.buyerPrincipalId, kind: 'unsubscribe', priceCents: refunded, status: 'done', year, createdAt: new Date(a.at),
        });
        await event(tx, s.id, 'unsubscribed', 'unsubscribed', a.at, { orderId, refundedCents: refunded, year, used: n + 1 });
        return { ok: true as const, orderId, orderLineId: `${orderId}-000001`, refundedCents: refunded };
      });
    },

    /** Refunds a renewal period that has not begun, and records the unsubscription order that did it. */
    async unsubscribeRenewal(a: { instanceId: string; orderId: string; orderLineId: string; at: number }): Promise<{ refundedCents: number }> {
      return db.transaction(async (tx) => {
        const r = await refund(tx, { orderLineId: a.orderLineId, memo: 'renewal period unsubscribed before it began', at: new Date(a.at) });
        const [s] = await tx.select().from(subscriptions).where(eq(subscriptions.id, a.instanceId));
        if (!s) throw notFound(`subscription ${a.instanceId}`);
        await tx.update(subscriptionOrders).set({ status: 'refunded', updatedAt: new Date() }).where(eq(subscriptionOrders.id, a.orderId));
        const id = subscriptionOrderId(a.instanceId, `renewal-unsubscribe:${a.orderId}`, a.at);
        await tx.insert(subscriptionOrders).values({
          id, orderLineId: `${id}-000001`, instanceId: a.instanceId, buyerPrincipalId: s.buyerPrincipalId, kind: 'renewal_unsubscribe',
          priceCents: r?.grossCents ?? 0, status: 'done', refersTo: a.orderId, createdAt: new Date(a.at),
        }).onConflictDoNothing();
        await event(tx, a.instanceId, `renewal-unsubscribed:${a.orderId}`, 'renewal_unsubscribed', a.at, { orderId: a.orderId, refundedCents: r?.grossCents ?? 0 });
        return { refundedCents: r?.grossCents ?? 0 };
      });
    },

    /**
     * One attempt at a seller call the subscription owes, through the one seller client (signed, recorded as an
     * interface message, within the endpoint's concurrency limit). A repeated release of a released instance
     * answers 000000 (spec §1.5.5); any other answer but 000000 is tried again later.
     */
    async callSeller(a: { instanceId: string; productId: string; orderLineId: string; call: SellerCall; attempt: number }): Promise<Judgement> {
      const c = a.call;
      const body: Record<string, string> = c.activity === 'refreshInstance'
        ? { instanceId: a.instanceId, scene: c.scene, orderId: c.orderId, orderLineId: c.orderLineId, expireTime: sellerTime(new Date(c.expiresAt)) }
        : c.activity === 'updateInstanceStatus'
          ? { instanceId: a.instanceId, status: c.status }
          : { instanceId: a.instanceId, ...(c.orderId ? { orderId: c.orderId } : {}), ...(c.orderLineId ? { orderLineId: c.orderLineId } : {}) };
      const r = await sellers.call({ productId: a.productId, activity: c.activity, body, record: { dedupeKey: `${a.instanceId}:${c.seq}:${c.activity}:${a.attempt}`, orderLineId: a.orderLineId } });
      return { outcome: r.outcome, error: r.error };
    },
  };
}

export type SubscriptionActivities = ReturnType<typeof createSubscriptionActivities>;
