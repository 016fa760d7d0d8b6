import { eq, sql } from 'drizzle-orm';
import { startSupervision } from '../../api/supervision-intake';
import { accounts, ledger, orderLines, orders, products, supervisionLog } from '../../db/schema';
import { newId } from '../../domain/ids';
import { supervisionWorkflowId, type ActorRef } from '../../workflows/supervision-messages';
import { seedSupervisedProduct } from './catalog';
import { startReviewHarness } from './review-harness';

/**
 * The review harness (time-skipping server, PostgreSQL, mail and SMS sinks, the real worker) plus
 * paid supervised order lines whose payment instant is the test server's clock, so the flow's
 * instants can be asserted exactly however far earlier tests skipped time.
 */
export async function startSupervisionHarness(extraConfig: Record<string, string> = {}) {
  const h = await startReviewHarness(extraConfig);
  async function paidLine(o: Parameters<typeof seedSupervisedProduct>[1]) {
    const seed = await seedSupervisedProduct(h.db, o);
    const paidAt = new Date(await h.env.currentTimeMs());
    const orderId = `CS${newId('', 12)}`;
    const [product] = await h.db.select().from(products).where(eq(products.id, seed.productId));
    const price = o.priceCents ?? 50_000;
    const line = await h.db.transaction(async (tx) => {
      const [order] = await tx.insert(orders).values({ id: orderId, buyerPrincipalId: seed.buyer, status: 'processing', totalCents: price, createdAt: paidAt, updatedAt: paidAt }).returning();
      await tx.update(accounts).set({ balanceCents: sql`${accounts.balanceCents} - ${price}` }).where(eq(accounts.principalId, seed.buyer));
      await tx.insert(ledger).values({ principalId: seed.buyer, dedupeKey: `charge:${orderId}`, amountCents: -price, reason: 'order', orderId });
      const [l] = await tx.insert(orderLines).values({
        id: `${orderId}-000001`, orderId, productId: seed.productId, skuId: seed.skuId, merchantId: seed.merchantId, status: 'processing', priceCents: price, createdAt: paidAt,
      }).returning();
      return { line: l!, order: order! };
    });
    await startSupervision(h.env.client, h.config, line.line, line.order, product!);
    const handle = h.env.client.workflow.getHandle(supervisionWorkflowId(line.line.id));
    const buyer: ActorRef = { role: 'buyer', id: seed.buyer };
    const seller: ActorRef = { role: 'seller', id: seed.seller };
    return { ...seed, line: line.line, paidAt: paidAt.getTime(), handle, buyerRef: buyer, sellerRef: seller };
  }
  const log = (orderLineId: string) => h.db.select().from(supervisionLog).where(eq(supervisionLog.orderLineId, orderLineId)).orderBy(supervisionLog.seq);
  return { ...h, paidLine, log };
}
export type SupervisionHarness = Awaited<ReturnType<typeof startSupervisionHarness>>;
