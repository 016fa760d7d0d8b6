import { eq } from 'drizzle-orm';
import { startSupervision } from '../../api/supervision-intake';
import { charge } from '../../db/ledger';
import { orderLines, orders, products, supervisionLog } from '../../db/schema';
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
    // As the order service places an order: the order, its line and the line's charge in one transaction.
    const line = await h.db.transaction(async (tx) => {
      const [order] = await tx.insert(orders).values({ id: orderId, buyerPrincipalId: seed.buyer, status: 'processing', totalCents: price, createdAt: paidAt, updatedAt: paidAt }).returning();
      const [l] = await tx.insert(orderLines).values({
        id: `${orderId}-000001`, orderId, productId: seed.productId, skuId: seed.skuId, merchantId: seed.merchantId, status: 'processing', priceCents: price, createdAt: paidAt,
      }).returning();
      const paid = await charge(tx, { orderLineId: l!.id, orderId, buyerId: seed.buyer, merchantId: seed.merchantId, productId: seed.productId, amountCents: price, sale: 'new', memo: 'order', at: paidAt });
      if (!paid.ok) throw new Error('the test buyer cannot pay');
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
