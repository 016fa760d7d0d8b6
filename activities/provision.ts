import { and, count, eq, gte, isNull, ne } from 'drizzle-orm';
import { shanghaiDate, shanghaiMidnight } from '../domain/working-days';
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { refund, settle } from '../db/ledger';
import { instances, orderLines, orders, products, skus, subscriptions } from '../db/schema';
import { addDays, addPeriods } from '../domain/periods';
import { newId } from '../domain/ids';
import { createSellerClient, newInstanceReply, queryInstanceReply, type Judgement, type SellerReply } from '../seller-client';
import { INSTANCE_NOT_READY } from '../workflows/saas-provision-messages';

/** Result codes that mean the seller will never provision this order (spec §1.6): fail and refund at once. */
const REFUSALS = new Set(['000100', '000101', '000102', '000103', '000104', '000105', '000106', '000107']);

/** More orders than this failed by interface errors in one calendar month flag the product for a delisting review (spec §1.7). */
export const DELISTING_THRESHOLD = 5;

async function flagForDelisting(db: Db, productId: string, now: Date) {
  // The calendar month in Asia/Shanghai, as the marketplace counts it.
  const month = shanghaiDate(now).slice(0, 7);
  const monthStart = shanghaiMidnight(`${month}-01`);
  const [{ n }] = (await db.select({ n: count() }).from(orderLines)
    .where(and(eq(orderLines.productId, productId), eq(orderLines.interfaceFailed, true), gte(orderLines.updatedAt, monthStart)))) as [{ n: number }];
  if (n > DELISTING_THRESHOLD) await db.update(products).set({ flaggedForDelisting: true, updatedAt: now }).where(eq(products.id, productId));
}

/** How a newInstance reply moves provisioning on (spec §1.5.1, §1.6). */
function judgeNewInstance(r: SellerReply<z.infer<typeof newInstanceReply>>): Judgement {
  if (r.fault || !r.data) return { outcome: 'retryable', error: r.fault?.message ?? 'no reply' };
  const { resultCode, resultMsg, instanceId } = r.data;
  if (REFUSALS.has(resultCode)) return { outcome: 'refused', error: resultMsg ?? null };
  if ((resultCode === '000000' || resultCode === '000004') && instanceId) return { outcome: resultCode === '000000' ? 'success' : 'async' };
  return { outcome: 'retryable', error: `result code ${resultCode}${resultMsg ? `: ${resultMsg}` : ''}` };
}

export interface CallOutcome { outcome: 'success' | 'async' | 'retryable' | 'refused'; resultCode?: string; instanceId?: string; error?: string }

export function createProvisionActivities({ db, config }: { db: Db; config: Config }) {
  const sellers = createSellerClient({ db, config });

  /** queryInstance for one instance of a line: success when the seller reports it with its app info. */
  const queryInstance = (line: { id: string; productId: string }, instanceId: string, dedupeKey: string) => sellers.call({
    productId: line.productId, activity: 'queryInstance', body: { instanceId }, reply: queryInstanceReply,
    judge: (q) => {
      if (q.fault || !q.data) return { outcome: 'retryable', error: q.fault?.kind === 'unexpected-reply' ? 'unexpected response' : q.fault?.message ?? 'no reply' };
      const ready = q.data.resultCode === '000000' && !!q.data.info?.some((i) => i.instanceId === instanceId && i.appInfo);
      return ready ? { outcome: 'success' } : { outcome: 'retryable', error: 'instance not ready' };
    },
    record: { dedupeKey, orderLineId: line.id },
  });

  async function loadLine(orderLineId: string) {
    const [line] = await db.select().from(orderLines).where(eq(orderLines.id, orderLineId));
    if (!line) throw ApplicationFailure.nonRetryable(`order line ${orderLineId} not found`, 'OrderLineNotFound');
    return line;
  }

  return {
    async callNewInstance(a: { orderLineId: string; attempt: number }): Promise<CallOutcome> {
      const line = await loadLine(a.orderLineId);
      // A new businessId on every call, the same order ids every time (spec §1.5.1).
      const r = await sellers.call({
        productId: line.productId, activity: 'newInstance', reply: newInstanceReply, judge: judgeNewInstance,
        body: { businessId: newId('B', 24), orderId: line.orderId, orderLineId: line.id },
        // The activity's own attempt too: a call retried after a worker died is recorded as well.
        record: { dedupeKey: `${line.id}:newInstance:${a.attempt}${activityInfo().attempt > 1 ? `.${activityInfo().attempt}` : ''}`, orderLineId: line.id },
      });
      const instanceId = r.outcome === 'success' || r.outcome === 'async' ? r.data?.instanceId : undefined;
      const out: CallOutcome = {
        outcome: r.outcome, ...(r.data && !r.fault ? { resultCode: r.resultCode } : {}), ...(instanceId ? { instanceId } : {}), ...(r.error ? { error: r.error } : {}),
      };
      if (out.instanceId) {
        // The first instance id the seller gave is the line's; a different one later is flagged, never a second instance.
        await db.update(orderLines).set({ instanceId: out.instanceId, updatedAt: new Date() }).where(and(eq(orderLines.id, line.id), isNull(orderLines.instanceId)));
        const [now] = await db.select({ instanceId: orderLines.instanceId }).from(orderLines).where(eq(orderLines.id, line.id));
        if (now?.instanceId !== out.instanceId) {
          await db.update(orderLines).set({ instanceConflict: true }).where(eq(orderLines.id, line.id));
          out.instanceId = now!.instanceId!;
        }
      }
      return out;
    },

    /** Version 1's poll (one activity per poll); kept for lines started before version 2. */
    async callQueryInstance(a: { orderLineId: string; instanceId: string; poll: number }): Promise<{ ready: boolean }> {
      const line = await loadLine(a.orderLineId);
      return { ready: (await queryInstance(line, a.instanceId, `${line.id}:queryInstance:${a.instanceId}:${a.poll}:${Date.now()}`)).outcome === 'success' };
    },

    /**
     * One poll of a line answered 000004 (version 2): each attempt of this activity is one queryInstance call;
     * not ready yet is a retryable InstanceNotReady, which the server retries at the poll interval until the
     * window (schedule-to-close) ends. The seller's faults are recorded as interface messages like every call.
     */
    async pollInstance(a: { orderLineId: string; instanceId: string; key: string }): Promise<{ ready: true }> {
      const line = await loadLine(a.orderLineId);
      const r = await queryInstance(line, a.instanceId, `${line.id}:queryInstance:${a.key}:${activityInfo().attempt}`);
      if (r.outcome === 'success') return { ready: true };
      throw ApplicationFailure.retryable(r.error ?? 'instance not ready', INSTANCE_NOT_READY);
    },

    async setProvisioning(a: { orderLineId: string; provisioning: 'calling' | 'polling' | 'interface_failed' | 'stuck' }) {
      await db.update(orderLines).set({ provisioning: a.provisioning, updatedAt: new Date() })
        .where(and(eq(orderLines.id, a.orderLineId), eq(orderLines.status, 'processing')));
    },

    /**
     * Records the delivery. A yearly/monthly line also gets its subscription row here, in the same transaction
     * (the durable record its workflow starts from, decision 008); `subscription` says whether it has one.
     * `at` is the workflow's instant of delivery, so a retry writes the same expiry.
     */
    async markDelivered(a: { orderLineId: string; instanceId: string; at?: number }): Promise<{ subscription: boolean }> {
      const at = new Date(a.at ?? Date.now());
      await db.transaction(async (tx) => {
        const [line] = await tx.select().from(orderLines).where(eq(orderLines.id, a.orderLineId));
        if (!line || line.status === 'delivered') return;
        const [order] = await tx.select().from(orders).where(eq(orders.id, line.orderId));
        await tx.insert(instances).values({ id: a.instanceId, orderLineId: line.id, productId: line.productId, buyerPrincipalId: order!.buyerPrincipalId, deliveredBy: line.instanceId === a.instanceId ? 'interface' : 'manual' }).onConflictDoNothing();
        const [sku] = await tx.select().from(skus).where(eq(skus.id, line.skuId));
        const periodic = sku && (sku.chargingMode === 'monthly' || sku.chargingMode === 'yearly');
        const expiresAt = !periodic ? null : sku.trialDays ? addDays(at, sku.trialDays) : addPeriods(at, sku.chargingMode === 'yearly' ? 'year' : 'month', sku.periods);
        await tx.update(orderLines).set({ status: 'delivered', provisioning: 'done', instanceId: a.instanceId, expiresAt, updatedAt: new Date() }).where(eq(orderLines.id, line.id));
        if (expiresAt) {
          await tx.insert(subscriptions).values({
            id: a.instanceId, orderLineId: line.id, buyerPrincipalId: order!.buyerPrincipalId, merchantId: line.merchantId, productId: line.productId, skuId: line.skuId,
            trial: !!sku!.trialDays, status: sku!.trialDays ? 'trial' : 'active', policy: config.SUBSCRIPTION_DEFAULT_POLICY, deliveredAt: at, expiresAt,
          }).onConflictDoNothing();
        }
        // Sales settle when they are delivered (spec §8: yearly/monthly orders by provisioning time).
        await settle(tx, { orderLineId: line.id, memo: 'delivered' });
        const open = await tx.select({ id: orderLines.id }).from(orderLines).where(and(eq(orderLines.orderId, line.orderId), ne(orderLines.status, 'delivered')));
        if (open.length === 0) await tx.update(orders).set({ status: 'completed', updatedAt: new Date() }).where(eq(orders.id, line.orderId));
      });
      const [sub] = await db.select({ id: subscriptions.id }).from(subscriptions).where(eq(subscriptions.id, a.instanceId));
      return { subscription: !!sub };
    },

    /** Closes a line as failed or cancelled and returns its price to the buyer once (the ledger key makes it so). */
    async closeAndRefund(a: { orderLineId: string; status: 'failed' | 'cancelled'; reason: string; interfaceFailure?: boolean }): Promise<{ refundedCents: number | null }> {
      return db.transaction(async (tx) => {
        const [line] = await tx.select().from(orderLines).where(eq(orderLines.id, a.orderLineId));
        if (!line || line.status === 'delivered') return { refundedCents: null };
        await tx.update(orderLines).set({ status: a.status, provisioning: 'done', failure: a.reason, updatedAt: new Date() }).where(eq(orderLines.id, line.id));
        const refunded = await refund(tx, { orderLineId: line.id, memo: `refund (${a.status}): ${a.reason}` });
        if (a.interfaceFailure) {
          await tx.update(orderLines).set({ interfaceFailed: true }).where(eq(orderLines.id, line.id));
          await flagForDelisting(tx as unknown as Db, line.productId, new Date());
        }
        const lines = await tx.select({ status: orderLines.status }).from(orderLines).where(eq(orderLines.orderId, line.orderId));
        if (lines.every((l) => l.status === 'failed' || l.status === 'cancelled')) {
          await tx.update(orders).set({ status: a.status, updatedAt: new Date() }).where(eq(orders.id, line.orderId));
        }
        return { refundedCents: refunded ? line.priceCents : null };
      });
    },
  };
}

export type ProvisionActivities = ReturnType<typeof createProvisionActivities>;
