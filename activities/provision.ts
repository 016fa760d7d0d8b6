import { and, count, eq, gte, isNull, ne, sql } from 'drizzle-orm';
import { shanghaiDate, shanghaiMidnight } from '../domain/working-days';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { accounts, instances, interfaceMessages, ledger, orderLines, orders, products } from '../db/schema';
import { newId } from '../domain/ids';
import { createSecretBox } from '../domain/secret-box';
import { postToSeller, queryInstanceReply } from './seller-client';

/** Result codes that mean the seller will never provision this order (spec §1.6): fail and refund at once. */
const REFUSALS = new Set(['000100', '000101', '000102', '000103', '000104', '000105', '000106', '000107']);

const newInstanceReply = z.object({ resultCode: z.string().regex(/^\d{6}$/), resultMsg: z.string().max(1024).optional(), instanceId: z.string().min(1).max(64).optional() });

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

export interface CallOutcome { outcome: 'success' | 'async' | 'retryable' | 'refused'; resultCode?: string; instanceId?: string; error?: string }

export function createProvisionActivities({ db, config }: { db: Db; config: Config }) {
  const box = () => {
    if (!config.MASTER_KEY) throw ApplicationFailure.nonRetryable('MASTER_KEY is not configured', 'ConfigMissing');
    return createSecretBox(config.MASTER_KEY);
  };

  async function loadLine(orderLineId: string) {
    const [row] = await db.select({ line: orderLines, product: products }).from(orderLines)
      .innerJoin(products, eq(products.id, orderLines.productId)).where(eq(orderLines.id, orderLineId));
    if (!row) throw ApplicationFailure.nonRetryable(`order line ${orderLineId} not found`, 'OrderLineNotFound');
    if (!row.product.productionUrl || !row.product.accessKeyEnc) throw ApplicationFailure.nonRetryable(`product ${row.product.id} has no production interface`, 'NoProductionInterface');
    return { ...row, accessKey: box().open(row.product.accessKeyEnc) };
  }

  async function record(m: typeof interfaceMessages.$inferInsert) {
    await db.insert(interfaceMessages).values(m).onConflictDoNothing();
  }

  return {
    async callNewInstance(a: { orderLineId: string; attempt: number }): Promise<CallOutcome> {
      const { line, product, accessKey } = await loadLine(a.orderLineId);
      // A new businessId on every call, the same order ids every time (spec §1.5.1).
      const request = { activity: 'newInstance', businessId: newId('B', 24), orderId: line.orderId, orderLineId: line.id };
      const r = await postToSeller(product.productionUrl!, accessKey, request, config.SELLER_CALL_TIMEOUT_MS);
      let out: CallOutcome;
      if (r.error) out = { outcome: 'retryable', error: r.error };
      else {
        const reply = newInstanceReply.safeParse(r.json);
        if (!reply.success) out = { outcome: 'retryable', error: `unexpected response: ${reply.error.issues[0]?.message}` };
        else if (REFUSALS.has(reply.data.resultCode)) out = { outcome: 'refused', resultCode: reply.data.resultCode, error: reply.data.resultMsg };
        else if ((reply.data.resultCode === '000000' || reply.data.resultCode === '000004') && reply.data.instanceId) {
          out = { outcome: reply.data.resultCode === '000000' ? 'success' : 'async', resultCode: reply.data.resultCode, instanceId: reply.data.instanceId };
        } else out = { outcome: 'retryable', resultCode: reply.data.resultCode, error: `result code ${reply.data.resultCode}${reply.data.resultMsg ? `: ${reply.data.resultMsg}` : ''}` };
      }
      await record({
        dedupeKey: `${line.id}:newInstance:${a.attempt}`, orderLineId: line.id, productId: product.id, merchantId: line.merchantId,
        activity: 'newInstance', request, httpStatus: r.httpStatus ?? null, response: r.raw ?? null, resultCode: out.resultCode ?? null,
        outcome: out.outcome, error: out.error ?? null, latencyMs: r.latencyMs, at: new Date(),
      });
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

    async callQueryInstance(a: { orderLineId: string; instanceId: string; poll: number }): Promise<{ ready: boolean }> {
      const { line, product, accessKey } = await loadLine(a.orderLineId);
      const request = { activity: 'queryInstance', instanceId: a.instanceId };
      const r = await postToSeller(product.productionUrl!, accessKey, request, config.SELLER_CALL_TIMEOUT_MS);
      const reply = r.error ? undefined : queryInstanceReply.safeParse(r.json);
      const ready = !!reply?.success && reply.data.resultCode === '000000' && !!reply.data.info?.some((i) => i.instanceId === a.instanceId && i.appInfo);
      await record({
        dedupeKey: `${line.id}:queryInstance:${a.instanceId}:${a.poll}:${Date.now()}`, orderLineId: line.id, productId: product.id, merchantId: line.merchantId,
        activity: 'queryInstance', request, httpStatus: r.httpStatus ?? null, response: r.raw ?? null,
        resultCode: reply?.success ? reply.data.resultCode : null, outcome: ready ? 'success' : 'retryable',
        error: r.error ?? (reply && !reply.success ? 'unexpected response' : ready ? null : 'instance not ready'), latencyMs: r.latencyMs, at: new Date(),
      });
      return { ready };
    },

    async setProvisioning(a: { orderLineId: string; provisioning: 'calling' | 'polling' | 'interface_failed' }) {
      await db.update(orderLines).set({ provisioning: a.provisioning, updatedAt: new Date() })
        .where(and(eq(orderLines.id, a.orderLineId), eq(orderLines.status, 'processing')));
    },

    async markDelivered(a: { orderLineId: string; instanceId: string }) {
      await db.transaction(async (tx) => {
        const [line] = await tx.select().from(orderLines).where(eq(orderLines.id, a.orderLineId));
        if (!line || line.status === 'delivered') return;
        const [order] = await tx.select().from(orders).where(eq(orders.id, line.orderId));
        await tx.insert(instances).values({ id: a.instanceId, orderLineId: line.id, productId: line.productId, buyerPrincipalId: order!.buyerPrincipalId, deliveredBy: line.instanceId === a.instanceId ? 'interface' : 'manual' }).onConflictDoNothing();
        await tx.update(orderLines).set({ status: 'delivered', provisioning: 'done', instanceId: a.instanceId, updatedAt: new Date() }).where(eq(orderLines.id, line.id));
        const open = await tx.select({ id: orderLines.id }).from(orderLines).where(and(eq(orderLines.orderId, line.orderId), ne(orderLines.status, 'delivered')));
        if (open.length === 0) await tx.update(orders).set({ status: 'completed', updatedAt: new Date() }).where(eq(orders.id, line.orderId));
      });
    },

    /** Closes a line as failed or cancelled and returns its price to the buyer once (the ledger key makes it so). */
    async closeAndRefund(a: { orderLineId: string; status: 'failed' | 'cancelled'; reason: string; interfaceFailure?: boolean }) {
      await db.transaction(async (tx) => {
        const [line] = await tx.select().from(orderLines).where(eq(orderLines.id, a.orderLineId));
        if (!line || line.status === 'delivered') return;
        const [order] = await tx.select().from(orders).where(eq(orders.id, line.orderId));
        await tx.update(orderLines).set({ status: a.status, failure: a.reason, updatedAt: new Date() }).where(eq(orderLines.id, line.id));
        const refunded = await tx.insert(ledger).values({
          principalId: order!.buyerPrincipalId, dedupeKey: `refund:${line.id}`, amountCents: line.priceCents, reason: `refund (${a.status}): ${a.reason}`, orderId: line.orderId,
        }).onConflictDoNothing().returning({ id: ledger.id });
        if (refunded.length) {
          await tx.update(accounts).set({ balanceCents: sql`${accounts.balanceCents} + ${line.priceCents}`, updatedAt: new Date() }).where(eq(accounts.principalId, order!.buyerPrincipalId));
        }
        if (a.interfaceFailure) {
          await tx.update(orderLines).set({ interfaceFailed: true }).where(eq(orderLines.id, line.id));
          await flagForDelisting(tx as unknown as Db, line.productId, new Date());
        }
        const lines = await tx.select({ status: orderLines.status }).from(orderLines).where(eq(orderLines.orderId, line.orderId));
        if (lines.every((l) => l.status === 'failed' || l.status === 'cancelled')) {
          await tx.update(orders).set({ status: a.status, updatedAt: new Date() }).where(eq(orders.id, line.orderId));
        }
      });
    },
  };
}

export type ProvisionActivities = ReturnType<typeof createProvisionActivities>;
