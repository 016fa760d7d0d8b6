import { and, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { trialBalance } from '../../db/ledger';
import { ledgerAccounts, ledgerEntries, ledgerTransactions, products } from '../../db/schema';
import { buyerAccount, commissionOf, settlementStatus } from '../../domain/ledger';
import { shanghaiMidnight } from '../../domain/working-days';
import type { RouteContext } from '../app';
import { defineRoute } from '../route';
import { keyset, pageOf, sortKey } from '../pagination';

// Bills page by ledger entry, transactions by transaction, accounts by id.
const entryOrder = (by: SQL) => keyset<{ entryId: number }>('desc', [sortKey.int(by, (r) => r.entryId)]);
const transactionPages = keyset<{ c: { id: number } }>('desc', [sortKey.int(ledgerTransactions.id, (r) => r.c.id)]);
const accountPages = keyset<{ id: string }>('asc', [sortKey.text(ledgerAccounts.id, (r) => r.id)]);
// From 1970: earlier months would reach timestamps PostgreSQL refuses (year 0 minus 8 hours is year -1).
const period = z.string().regex(/^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$/, 'a calendar month, YYYY-MM (Asia/Shanghai), from 1970');
const orderId = z.string().regex(/^CS[A-Z0-9]{8,30}$/, 'malformed order id');

/** The instants a Shanghai calendar month `YYYY-MM` spans. */
function monthSpan(month: string): [Date, Date] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  return [shanghaiMidnight(`${month}-01`), shanghaiMidnight(`${next}-01`)];
}
const within = (at: typeof ledgerTransactions.at, month?: string): SQL | undefined => {
  if (!month) return undefined;
  const [from, to] = monthSpan(month);
  return and(gte(at, from), lt(at, to));
};

const bill = z.object({
  transactionId: z.number(), kind: z.string(), sale: z.string().nullable(), orderId: z.string().nullable(), orderLineId: z.string().nullable(),
  instanceId: z.string().nullable(), productId: z.string().nullable(), amountCents: z.number().describe('what this moved on your balance: negative is a charge'),
  balanceAfterCents: z.number(), memo: z.string().nullable(), at: z.string(),
}).meta({ id: 'Bill' });

const sellerTransaction = z.object({
  transactionId: z.number(), sale: z.string().nullable(), orderId: z.string().nullable(), orderLineId: z.string().nullable(), instanceId: z.string().nullable(),
  productId: z.string().nullable(), at: z.string(), amountCents: z.number(),
  commissionCents: z.number().describe('settled: the commission taken; pending: at the product\'s rate now'),
  payableCents: z.number(), settlementStatus: z.enum(['pending', 'settled', 'refunded']), settledAt: z.string().nullable(), refundedAt: z.string().nullable(),
}).meta({ id: 'SellerTransaction' });

/** Money as each party sees it, read from the ledger (docs/decisions/010-double-entry-ledger.md). */
export function ledgerRoutes({ router, registry, db }: RouteContext) {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/bills', tag: 'Accounts', roles: ['buyer'],
    summary: 'My bills: every movement of my balance (top-ups, charges, refunds), newest first, with the balance after each.',
    query: z.strictObject({ period: period.optional(), ...entryOrder(sql`${ledgerEntries.id}`).query }),
    responses: { 200: { description: 'Bills', schema: pageOf(bill) } },
    handler: async ({ principal, query }) => {
      // The running balance is summed over the whole account in entry order, then the page is cut from it.
      const running = db.select({
        entryId: ledgerEntries.id, transactionId: ledgerEntries.transactionId, amount: ledgerEntries.amountCents,
        after: sql<string>`sum(${ledgerEntries.amountCents}) over (order by ${ledgerEntries.id})`.as('after'),
      }).from(ledgerEntries).where(eq(ledgerEntries.accountId, buyerAccount(principal.id))).as('running');
      const { rows, nextCursor } = await entryOrder(sql`${running.entryId}`).read(query, ({ after, orderBy, limit }) =>
        db.select({ entryId: running.entryId, t: ledgerTransactions, amount: running.amount, after: running.after }).from(running)
          .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, running.transactionId))
          .where(and(within(ledgerTransactions.at, query.period), after)).orderBy(...orderBy).limit(limit));
      return {
        body: {
          nextCursor,
          items: rows.map(({ t, amount, after }) => ({
            transactionId: t.id, kind: t.kind, sale: t.sale, orderId: t.orderId, orderLineId: t.orderLineId, instanceId: t.instanceId, productId: t.productId,
            amountCents: amount, balanceAfterCents: Number(after), memo: t.memo, at: t.at.toISOString(),
          })),
        },
      };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/transactions', tag: 'Settlement', roles: ['seller', 'operator'],
    summary: 'Sales transactions (交易明细): each sale with its amount, commission and settlement status, newest first. A seller sees its own; operators all, or one seller\'s with merchantId.',
    query: z.strictObject({
      period: period.optional().describe('the calendar month of the sale'), orderId: orderId.optional(),
      status: z.enum(['pending', 'settled', 'refunded']).optional(), merchantId: z.string().regex(/^[A-Z0-9]{4,40}$/).optional(), ...transactionPages.query,
    }),
    responses: { 200: { description: 'Transactions', schema: pageOf(sellerTransaction) } },
    handler: async ({ principal, query }) => {
      const settlement = alias(ledgerTransactions, 'settlement');
      const refund = alias(ledgerTransactions, 'refund');
      const merchant = principal.role === 'seller' ? principal.merchantId! : query.merchantId;
      const status = query.status === 'refunded' ? sql`${refund.id} is not null`
        : query.status === 'settled' ? sql`${refund.id} is null and ${settlement.id} is not null`
          : query.status === 'pending' ? sql`${refund.id} is null and ${settlement.id} is null` : undefined;
      const { rows, nextCursor } = await transactionPages.read(query, ({ after, orderBy, limit }) => db.select({
        c: ledgerTransactions, rate: products.commissionRateBp,
        settledId: settlement.id, settledAt: settlement.at, settledCommission: settlement.commissionCents, refundedId: refund.id, refundedAt: refund.at,
      }).from(ledgerTransactions)
        .leftJoin(settlement, and(eq(settlement.chargeId, ledgerTransactions.id), eq(settlement.kind, 'settlement')))
        .leftJoin(refund, and(eq(refund.chargeId, ledgerTransactions.id), eq(refund.kind, 'refund')))
        .leftJoin(products, eq(products.id, ledgerTransactions.productId))
        .where(and(
          eq(ledgerTransactions.kind, 'charge'), merchant ? eq(ledgerTransactions.merchantId, merchant) : undefined,
          query.orderId ? eq(ledgerTransactions.orderId, query.orderId) : undefined, within(ledgerTransactions.at, query.period), status, after,
        ))
        .orderBy(...orderBy).limit(limit));
      return {
        body: {
          nextCursor,
          items: rows.map(({ c, rate, ...x }) => {
            const settled = x.settledId !== null;
            const commission = settled ? x.settledCommission! : commissionOf(c.grossCents, rate ?? 0);
            return {
              transactionId: c.id, sale: c.sale, orderId: c.orderId, orderLineId: c.orderLineId, instanceId: c.instanceId, productId: c.productId,
              at: c.at.toISOString(), amountCents: c.grossCents, commissionCents: commission, payableCents: c.grossCents - commission,
              settlementStatus: settlementStatus(settled, x.refundedId !== null), settledAt: x.settledAt?.toISOString() ?? null, refundedAt: x.refundedAt?.toISOString() ?? null,
            };
          }),
        },
      };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/ledger/accounts', tag: 'Settlement', roles: ['operator'],
    summary: 'Ledger accounts with their totals from entries; a buyer\'s kept balance beside it.',
    query: z.strictObject({ kind: z.enum(['buyer', 'seller_payable', 'clearing', 'commission', 'payments']).optional(), ...accountPages.query }),
    responses: {
      200: {
        description: 'Accounts',
        schema: pageOf(z.object({ id: z.string(), kind: z.string(), ownerId: z.string().nullable(), totalCents: z.number(), keptBalanceCents: z.number().nullable(), entries: z.number() })),
      },
    },
    handler: async ({ query }) => {
      const { rows, nextCursor } = await accountPages.read(query, ({ after, orderBy, limit }) => db.select({
        id: ledgerAccounts.id, kind: ledgerAccounts.kind, ownerId: ledgerAccounts.ownerId, kept: ledgerAccounts.balanceCents,
        total: sql<string>`coalesce(sum(${ledgerEntries.amountCents}), 0)`, entries: sql<number>`count(${ledgerEntries.id})::int`,
      }).from(ledgerAccounts).leftJoin(ledgerEntries, eq(ledgerEntries.accountId, ledgerAccounts.id))
        .where(and(query.kind ? eq(ledgerAccounts.kind, query.kind) : undefined, after))
        .groupBy(ledgerAccounts.id).orderBy(...orderBy).limit(limit));
      return { body: { nextCursor, items: rows.map((r) => ({ id: r.id, kind: r.kind, ownerId: r.ownerId, totalCents: Number(r.total), keptBalanceCents: r.kept, entries: r.entries })) } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/ledger/trial-balance', tag: 'Settlement', roles: ['operator'],
    summary: 'The trial balance: totals per kind of account, which sum to zero, with any unbalanced transaction or kept balance that differs from its entries.',
    responses: {
      200: {
        description: 'Trial balance', schema: z.object({
          kinds: z.array(z.object({ kind: z.string(), accounts: z.number(), totalCents: z.number() })), totalCents: z.number(), balanced: z.boolean(),
          unbalancedTransactions: z.array(z.number()), balanceMismatches: z.array(z.object({ accountId: z.string(), keptCents: z.number(), entriesCents: z.number() })),
        }),
      },
    },
    handler: async () => {
      const tb = await trialBalance(db);
      return { body: { ...tb, balanced: tb.totalCents === 0 && tb.unbalancedTransactions.length === 0 && tb.balanceMismatches.length === 0 } };
    },
  });
}
