import { and, eq, lt, ne } from 'drizzle-orm';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../db/client';
import { settle } from '../db/ledger';
import { addPeriods } from '../domain/periods';
import { orderLines, orders, skus, supervisionLog, supervisions } from '../db/schema';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
const date = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms));

/** One operation-log entry as the workflow numbers it. Times are epoch ms from workflow time, so a retry writes the same row. */
export interface LogEntry {
  seq: number;
  at: number;
  actorRole: 'buyer' | 'seller' | 'operator' | 'system';
  actorId: string | null;
  action: string;
  stage: string;
  stageAfter: string;
  comment?: string | null;
  attachments?: string[];
  data?: Record<string, unknown>;
}

/** The read model of a line's supervision after an entry, as the workflow sees it. */
export interface SupervisionView {
  stage: string;
  stageEnteredAt: number;
  appealState: 'none' | 'open' | 'decided';
  appeal: Record<string, unknown> | null;
  refundRequestedAt: number | null;
  buyerRejections: number;
  sellerRejections: number;
  deliveredAt: number | null;
  signedOffAt: number | null;
  actualStartAt: number | null;
  acceptedAt: number | null;
}

const row = (v: SupervisionView, seq: number, at: number) => ({
  stage: v.stage, stageEnteredAt: new Date(v.stageEnteredAt), appealState: v.appealState, appeal: v.appeal,
  refundRequestedAt: date(v.refundRequestedAt), buyerRejections: v.buyerRejections, sellerRejections: v.sellerRejections,
  deliveredAt: date(v.deliveredAt), signedOffAt: date(v.signedOffAt), actualStartAt: date(v.actualStartAt), acceptedAt: date(v.acceptedAt),
  lastSeq: seq, updatedAt: new Date(at),
});

/** Appends the entry once: its (line, seq) key makes a retried write a no-op. */
async function append(tx: Tx, orderLineId: string, e: LogEntry) {
  await tx.insert(supervisionLog).values({
    orderLineId, seq: e.seq, actorRole: e.actorRole, actorId: e.actorId, action: e.action, stage: e.stage, stageAfter: e.stageAfter,
    comment: e.comment ?? null, attachments: e.attachments ?? [], data: e.data ?? {}, at: new Date(e.at),
  }).onConflictDoNothing();
}

/** Database side of the supervision workflow. Every function is idempotent under retries. */
export function createSupervisionActivities({ db }: { db: Db }) {
  return {
    /** Creates the line's read model and the log's first entry. */
    async openSupervision(a: { orderLineId: string; kind: string; entry: LogEntry; view: SupervisionView }): Promise<void> {
      await db.transaction(async (tx) => {
        const [line] = await tx.select({ line: orderLines, order: orders }).from(orderLines).innerJoin(orders, eq(orders.id, orderLines.orderId))
          .where(eq(orderLines.id, a.orderLineId));
        if (!line) throw ApplicationFailure.nonRetryable(`order line ${a.orderLineId} not found`, 'OrderLineNotFound');
        await tx.insert(supervisions).values({
          orderLineId: a.orderLineId, orderId: line.order.id, buyerPrincipalId: line.order.buyerPrincipalId, merchantId: line.line.merchantId,
          productId: line.line.productId, kind: a.kind, ...row(a.view, a.entry.seq, a.entry.at),
        }).onConflictDoNothing();
        await append(tx, a.orderLineId, a.entry);
      });
    },

    /** Appends an entry and moves the read model to the state after it, never back to an older one. */
    async recordAction(a: { orderLineId: string; entry: LogEntry; view: SupervisionView }): Promise<void> {
      await db.transaction(async (tx) => {
        await append(tx, a.orderLineId, a.entry);
        await tx.update(supervisions).set(row(a.view, a.entry.seq, a.entry.at))
          .where(and(eq(supervisions.orderLineId, a.orderLineId), lt(supervisions.lastSeq, a.entry.seq)));
      });
    },

    /**
     * The line is accepted: it is delivered and settled, its order completes when every line has, and a
     * periodic line's validity starts (at the seller's actual start time when given, else at acceptance).
     * The subscription process (issue 11) takes periodic lines from here when it lands: `validUntil` is
     * their first expiry.
     */
    async completeLine(a: { orderLineId: string; acceptedAt: number; validFrom: number }): Promise<{ validFrom: number; validUntil: number | null }> {
      return db.transaction(async (tx) => {
        const [r] = await tx.select({ line: orderLines, sku: skus }).from(orderLines).innerJoin(skus, eq(skus.id, orderLines.skuId))
          .where(eq(orderLines.id, a.orderLineId));
        if (!r) throw ApplicationFailure.nonRetryable(`order line ${a.orderLineId} not found`, 'OrderLineNotFound');
        const periodic = r.sku.chargingMode === 'yearly' || r.sku.chargingMode === 'monthly';
        const validUntil = periodic ? addPeriods(new Date(a.validFrom), r.sku.chargingMode === 'yearly' ? 'year' : 'month', r.sku.periods).getTime() : null;
        const at = new Date(a.acceptedAt);
        if (r.line.status === 'processing') {
          await tx.update(orderLines).set({ status: 'delivered', expiresAt: date(validUntil), updatedAt: at }).where(eq(orderLines.id, a.orderLineId));
          // Supervised sales settle when supervision completes (spec §8), once (the ledger's key per line).
          await settle(tx as unknown as Db, { orderLineId: a.orderLineId, at, memo: 'supervision completed' });
          const open = await tx.select({ id: orderLines.id }).from(orderLines).where(and(eq(orderLines.orderId, r.line.orderId), ne(orderLines.status, 'delivered')));
          if (open.length === 0) await tx.update(orders).set({ status: 'completed', updatedAt: at }).where(eq(orders.id, r.line.orderId));
        }
        await tx.update(supervisions).set({ validFrom: periodic ? new Date(a.validFrom) : null, validUntil: date(validUntil) })
          .where(eq(supervisions.orderLineId, a.orderLineId));
        return { validFrom: a.validFrom, validUntil };
      });
    },
  };
}

export type SupervisionActivities = ReturnType<typeof createSupervisionActivities>;
