import { safeError } from '../observability/safe-error';
import { and, asc, eq, inArray, or } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { isUniqueViolation } from '../db/errors';
import { markStarted, notStarted, SWEEP_GRACE_MS } from '../db/workflow-started';
import { balanceOf, charge } from '../db/ledger';
import { orderLines, orders, products, skus } from '../db/schema';
import { newId } from '../domain/ids';
import { shanghaiDate } from '../domain/working-days';
import { provisionStartOptions } from '../workflows/saas-provision-messages';
import { Problem } from './problem';
import { withTemporalDeadline } from './updates';
import { startSupervision } from './supervision-intake';

type Order = typeof orders.$inferSelect;
type Line = typeof orderLines.$inferSelect;

/**
 * `CS` + yyMMddHHmm (Asia/Shanghai) + 8 random characters, in the marketplace's form (`CS2211181819B4LVS` has 5).
 * 32^8 ids a minute make a collision rare, and a collision only costs a retry with a new id: the
 * Idempotency-Key has its own unique index, so an id is never derived from it.
 */
export const ORDER_ID = /^CS\d{10}[0-9A-Z]{8}$/;
function orderId(now: Date, random: string): string {
  const local = new Date(now.getTime() + 8 * 3_600_000).toISOString();
  return `CS${shanghaiDate(now).slice(2).replace(/-/g, '')}${local.slice(11, 13)}${local.slice(14, 16)}${random}`;
}
const constraintOf = (e: unknown) => (e as { cause?: { constraint?: string } })?.cause?.constraint ?? (e as { constraint?: string })?.constraint;
const ID_ATTEMPTS = 5;

/** `randomSuffix`: tests force collisions with it. */
export function createOrderService({ db, temporal, config, logger, randomSuffix = () => newId('', 8) }: { db: Db; temporal: Client; config: Config; logger?: Logger | undefined; randomSuffix?: () => string }) {
  /**
   * Starts the workflow of every line still processing and records each start: supervision for lines of
   * supervised products (a supervised SaaS line is delivered through supervision, not the interface:
   * docs/supervision.md), provisioning for the other SaaS lines. Safe to call again (USE_EXISTING). Lines whose start failed are found by `sweep` (decision 008).
   */
  async function startProvisioning(lines: Line[]) {
    const kinds = lines.length ? await db.select({ id: products.id, deliveryType: products.deliveryType, supervised: products.supervised, deliveryTemplate: products.deliveryTemplate })
      .from(products).where(inArray(products.id, lines.map((l) => l.productId))) : [];
    const product = new Map(kinds.map((p) => [p.id, p]));
    for (const line of lines.filter((l) => l.status === 'processing' && product.get(l.productId)?.supervised)) {
      const [order] = await db.select({ buyerPrincipalId: orders.buyerPrincipalId }).from(orders).where(eq(orders.id, line.orderId));
      await startSupervision(temporal, config, line, order!, product.get(line.productId)!);
      await markStarted(db, orderLines, line.id, new Date());
    }
    for (const line of lines.filter((l) => l.status === 'processing' && product.get(l.productId)?.deliveryType === 'saas' && !product.get(l.productId)?.supervised)) {
      await withTemporalDeadline(temporal, () => temporal.workflow.start('saasProvision', provisionStartOptions(line, config)))
        .catch((e: Error) => { if (e.name !== 'WorkflowExecutionAlreadyStartedError') throw e; });
      await markStarted(db, orderLines, line.id, new Date());
    }
  }

  /** Starts provisioning (or supervision) of paid SaaS and supervised lines placed more than `graceMs` ago that still have no workflow; returns how many. */
  async function sweep(graceMs = SWEEP_GRACE_MS, limit = 100): Promise<number> {
    const rows = await db.select({ line: orderLines }).from(orderLines).innerJoin(products, eq(products.id, orderLines.productId))
      .where(and(notStarted(orderLines, graceMs), eq(orderLines.status, 'processing'), or(eq(products.deliveryType, 'saas'), eq(products.supervised, true))))
      .orderBy(asc(orderLines.createdAt)).limit(limit);
    await startProvisioning(rows.map((r) => r.line));
    return rows.length;
  }

  return {
    startProvisioning, sweep,

    /**
     * Charges the buyer's balance and creates the order in one transaction, then starts provisioning.
     * A repeated Idempotency-Key returns the same order (and restarts provisioning a crash may have missed).
     */
    async place(buyerId: string, items: { skuId: string }[], idempotencyKey?: string): Promise<{ order: Order; lines: Line[]; created: boolean }> {
      const replay = async () => {
        if (!idempotencyKey) return undefined;
        const [existing] = await db.select().from(orders).where(and(eq(orders.buyerPrincipalId, buyerId), eq(orders.idempotencyKey, idempotencyKey)));
        if (!existing) return undefined;
        const lines = await db.select().from(orderLines).where(eq(orderLines.orderId, existing.id));
        await startProvisioning(lines);
        return { order: existing, lines, created: false };
      };
      const earlier = await replay();
      if (earlier) return earlier;
      const wanted = await db.select({ sku: skus, product: products }).from(skus).innerJoin(products, eq(products.id, skus.productId))
        .where(inArray(skus.id, items.map((i) => i.skuId)));
      const byId = new Map(wanted.map((w) => [w.sku.id, w]));
      const errors = items.flatMap((it, i) => {
        const w = byId.get(it.skuId);
        if (!w) return [{ field: `body.items.${i}.skuId`, message: 'no such SKU' }];
        if (w.product.status !== 'on_sale' || w.product.tradingFrozen) return [{ field: `body.items.${i}.skuId`, message: 'the product is not on sale' }];
        return [];
      });
      if (errors.length) throw new Problem(422, 'Unprocessable Content', 'some items cannot be ordered', errors);

      const now = new Date();
      // A trial SKU is free until the buyer converts it.
      const priceOf = (sku: { trialDays: number | null; priceCents: number }) => (sku.trialDays ? 0 : sku.priceCents);
      const total = items.reduce((sum, it) => sum + priceOf(byId.get(it.skuId)!.sku), 0);
      let placed: { order: Order; lines: Line[] } | undefined;
      let id = '';
      for (let attempt = 1; !placed; attempt++) {
        id = orderId(now, randomSuffix());
        try {
          placed = await db.transaction(async (tx) => {
            // The order row first: a concurrent request with the same Idempotency-Key waits on its unique key
            // and then fails, instead of seeing the balance already spent and answering 402.
            const [order] = await tx.insert(orders).values({ id, buyerPrincipalId: buyerId, idempotencyKey: idempotencyKey ?? null, status: 'processing', totalCents: total, createdAt: now, updatedAt: now }).returning();
            // The buyer's account row stays locked to this transaction: a concurrent order waits, then sees what is left.
            if (await balanceOf(tx, buyerId, { lock: true }) < total) throw new Problem(402, 'Payment Required', `the account balance does not cover ${(total / 100).toFixed(2)}`);
            const lines = await tx.insert(orderLines).values(items.map((it, i) => {
              const w = byId.get(it.skuId)!;
              return { id: `${id}-${String(i + 1).padStart(6, '0')}`, orderId: id, productId: w.product.id, skuId: w.sku.id, merchantId: w.product.merchantId, status: 'processing' as const, priceCents: priceOf(w.sku) };
            })).returning();
            // One charge per line: each is settled to its seller, or refunded, on its own.
            for (const l of lines.filter((x) => x.priceCents > 0)) {
              await charge(tx, { orderLineId: l.id, orderId: id, buyerId, merchantId: l.merchantId, productId: l.productId, amountCents: l.priceCents, sale: 'new', memo: 'order', at: now });
            }
            return { order: order!, lines };
          });
        } catch (e) {
          // Another order took this id in this minute: nothing was written, try another.
          if (isUniqueViolation(e) && constraintOf(e) === 'orders_pkey' && attempt < ID_ATTEMPTS) continue;
          // The same Idempotency-Key twice at once: the second transaction lost the race and charged nothing.
          const winner = isUniqueViolation(e) ? await replay() : undefined;
          if (winner) return winner;
          throw e;
        }
      }
      // The order is paid and committed: if Temporal cannot take the starts now, the sweep makes them later.
      await startProvisioning(placed.lines).catch((e: unknown) =>
        logger?.warn({ orderId: id, err: safeError(e) }, 'provisioning not started; the orders sweep will start it'));
      return { ...placed, created: true };
    },
  };
}

export type OrderService = ReturnType<typeof createOrderService>;
