import { and, asc, eq } from 'drizzle-orm';
import type { WorkflowHandle } from '@temporalio/client';
import { createOrderService } from '../../api/order-service';
import { topUp } from '../../db/ledger';
import { principals, skus, subscriptionEvents, subscriptionOrders, subscriptions } from '../../db/schema';
import { newId } from '../../domain/ids';
import type { ReferenceSeller } from '../../seller/server';
import { saasProvisionWorkflowId } from '../../workflows/saas-provision-messages';
import { subscriptionWorkflowId } from '../../workflows/subscription-messages';
import type { subscription } from '../../workflows/subscription';
import { seedSaasProduct } from './catalog';
import { findFirstRunId } from './history';
import type { ReviewHarness } from './review-harness';

export const SELLER_KEY = 'subscription-seller-access-key';

/**
 * A buyer (with e-mail and phone, customer level `level`) orders a SKU of a SaaS product served by the reference
 * seller; the real provisioning workflow delivers it, and its hook starts the subscription. Returns the subscription's handle.
 */
export async function subscribe(h: ReviewHarness, seller: ReferenceSeller, o: {
  priceCents?: number; balanceCents?: number; chargingMode?: 'monthly' | 'yearly'; periods?: number; trialDays?: number; level?: string; buyer?: string;
} = {}) {
  const seed = await seedSaasProduct(h.db, { productionUrl: seller.url, accessKey: SELLER_KEY, priceCents: o.priceCents ?? 1000, balanceCents: 0 });
  const buyer = o.buyer ?? seed.buyer;
  await h.db.update(principals).set({ phone: '+8613900000001', customerLevel: o.level ?? 'V4' }).where(eq(principals.id, buyer));
  await h.db.update(skus).set({ chargingMode: o.chargingMode ?? 'monthly', periods: o.periods ?? 1, trialDays: o.trialDays ?? null }).where(eq(skus.id, seed.skuId));
  if (o.balanceCents) await topUp(h.db, { key: `top-up:${buyer}:${newId('', 8)}`, buyerId: buyer, amountCents: o.balanceCents });
  const { lines } = await createOrderService({ db: h.db, temporal: h.env.client, config: h.config }).place(buyer, [{ skuId: seed.skuId }]);
  const line = lines[0]!;
  const delivered = await h.env.client.workflow.getHandle(saasProvisionWorkflowId(line.id)).result();
  if (delivered.status !== 'delivered') throw new Error(`order line ${line.id} ended ${delivered.status}`);
  const instanceId = delivered.instanceId!;
  const handle = h.env.client.workflow.getHandle<typeof subscription>(subscriptionWorkflowId(instanceId));
  // Running: its first activity has read the row and its first save has written it back.
  const row = await until(() => h.db.select().from(subscriptions).where(eq(subscriptions.id, instanceId)), (r) => (r[0]?.version ?? 0) > 0, `the subscription of ${instanceId} running`);
  return { ...seed, buyer, line, instanceId, handle, deliveredAt: row[0]!.deliveredAt.getTime(), expiresAt: row[0]!.expiresAt.getTime() };
}

export const events = async (h: ReviewHarness, instanceId: string, type?: string) =>
  h.db.select().from(subscriptionEvents).where(and(eq(subscriptionEvents.instanceId, instanceId), type ? eq(subscriptionEvents.type, type) : undefined)).orderBy(asc(subscriptionEvents.at), asc(subscriptionEvents.id));
export const orders = async (h: ReviewHarness, instanceId: string, kind?: 'renewal' | 'conversion' | 'unsubscribe' | 'renewal_unsubscribe') =>
  h.db.select().from(subscriptionOrders).where(and(eq(subscriptionOrders.instanceId, instanceId), kind ? eq(subscriptionOrders.kind, kind) : undefined)).orderBy(asc(subscriptionOrders.createdAt));
export const row = async (h: ReviewHarness, instanceId: string) => (await h.db.select().from(subscriptions).where(eq(subscriptions.id, instanceId)))[0]!;

/** The seller's record of the lifecycle calls an instance accepted, in order, as `activity[:scene|status]`. */
export const sellerEvents = (seller: ReferenceSeller, instanceId: string) =>
  (seller.instance(instanceId)?.events ?? []).map((e) => e.activity === 'refreshInstance' ? `${e.activity}:${e.scene}:${e.expireTime}` : e.activity === 'updateInstanceStatus' ? `${e.activity}:${e.status}` : e.activity);

/** The subscription's first run alone (its history, for recording). */
export const firstRun = async (h: ReviewHarness, handle: WorkflowHandle) => h.env.client.workflow.getHandle(handle.workflowId, await findFirstRunId(h.env.client, handle.workflowId));

/** Waits (in real time) until a condition on the database holds; time-skipping tests read rows written by activities. */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
