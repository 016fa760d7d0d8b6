/**
 * The double-entry ledger (docs/decisions/010-double-entry-ledger.md): every movement of money is one
 * transaction of two or more entries that sum to zero, written once per business key. The database
 * enforces the sum (a deferred constraint trigger), keeps buyers' balances from their entries and
 * refuses edits; the rules of which accounts move live in domain/ledger.ts.
 *
 * Every function here takes a database handle or a transaction of one, so callers write money in the
 * same transaction as the business rows it belongs to (an order and its charges, a line and its refund).
 */
import { eq, sql } from 'drizzle-orm';
import {
  accountKind, buyerAccount, chargeEntries, commissionOf, refundEntries, settlementEntries, topUpEntries, type Entry,
} from '../domain/ledger';
import type { Db } from './client';
import { ledgerAccounts, ledgerEntries, ledgerTransactions, products } from './schema';

type Transaction = typeof ledgerTransactions.$inferSelect;
type Meta = Omit<typeof ledgerTransactions.$inferInsert, 'id' | 'key' | 'kind' | 'grossCents' | 'commissionCents'>;
export type Sale = 'new' | 'renewal' | 'conversion';

/** Ledger keys of one sale, named by its order line (a renewal or a conversion has an order line of its own). */
export const saleKeys = (orderLineId: string) => ({ charge: `charge:${orderLineId}`, settle: `settle:${orderLineId}`, refund: `refund:${orderLineId}` });

async function openAccounts(db: Db, ids: string[]) {
  await db.insert(ledgerAccounts).values(ids.map((id) => {
    const { kind, ownerId } = accountKind(id);
    return { id, kind, ownerId, balanceCents: kind === 'buyer' ? 0 : null };
  })).onConflictDoNothing();
}

/**
 * Writes one transaction and its entries, unless its key was written before: then nothing is written
 * and the earlier transaction comes back (`created: false`). The entries' sum is checked at commit.
 */
export async function post(db: Db, t: Meta & { key: string; kind: Transaction['kind']; grossCents: number; commissionCents?: number; entries: Entry[] }): Promise<{ transaction: Transaction; created: boolean }> {
  if (t.entries.length < 2) throw new RangeError(`ledger transaction ${t.key} moves no money between two accounts`);
  return db.transaction(async (tx) => {
    const { entries, ...row } = t;
    await openAccounts(tx, [...new Set(entries.map((e) => e.account))]);
    const [created] = await tx.insert(ledgerTransactions).values(row).onConflictDoNothing({ target: ledgerTransactions.key }).returning();
    if (!created) return { transaction: (await byKey(tx, t.key))!, created: false };
    await tx.insert(ledgerEntries).values(entries.map((e) => ({ transactionId: created.id, accountId: e.account, amountCents: e.amountCents })));
    return { transaction: created, created: true };
  });
}

export const byKey = async (db: Db, key: string): Promise<Transaction | undefined> =>
  (await db.select().from(ledgerTransactions).where(eq(ledgerTransactions.key, key)))[0];

/** A buyer's balance; with `lock`, the account row stays locked to the caller's transaction (no concurrent spending). */
export async function balanceOf(db: Db, buyerId: string, o: { lock?: boolean } = {}): Promise<number> {
  const q = db.select({ balance: ledgerAccounts.balanceCents }).from(ledgerAccounts).where(eq(ledgerAccounts.id, buyerAccount(buyerId)));
  const [row] = o.lock ? await q.for('update') : await q;
  return row?.balance ?? 0;
}

/** Money in from the payment system. Idempotent by `key`. */
export const topUp = (db: Db, a: { key: string; buyerId: string; amountCents: number; memo?: string; at?: Date }) =>
  post(db, { key: a.key, kind: 'top_up', buyerId: a.buyerId, grossCents: a.amountCents, memo: a.memo ?? 'top-up', at: a.at, entries: topUpEntries(a.buyerId, a.amountCents) });

export type ChargeResult = { ok: true; transaction: Transaction; created: boolean } | { ok: false; balanceCents: number };

/**
 * Charges a sale to the buyer's balance, or answers `ok: false` with the balance when it does not cover
 * the amount. A key already charged answers its transaction, whatever the balance is now.
 */
export async function charge(db: Db, a: Meta & { orderLineId: string; buyerId: string; amountCents: number; sale: Sale }): Promise<ChargeResult> {
  const key = saleKeys(a.orderLineId).charge;
  return db.transaction(async (tx) => {
    const earlier = await byKey(tx, key);
    if (earlier) return { ok: true, transaction: earlier, created: false };
    await openAccounts(tx, [buyerAccount(a.buyerId)]);
    const balance = await balanceOf(tx, a.buyerId, { lock: true });
    if (balance < a.amountCents) return { ok: false, balanceCents: balance };
    const { amountCents, ...meta } = a;
    const r = await post(tx, { ...meta, key, kind: 'charge', grossCents: amountCents, entries: chargeEntries(a.buyerId, amountCents) });
    return { ok: true, ...r };
  });
}

/** What a settlement or refund repeats of its sale's charge. */
const saleOf = (c: Transaction) => ({
  sale: c.sale, orderId: c.orderId, orderLineId: c.orderLineId, instanceId: c.instanceId, buyerId: c.buyerId,
  merchantId: c.merchantId, productId: c.productId, grossCents: c.grossCents, chargeId: c.id,
});

/** The sale's charge, locked against a concurrent settlement or refund, and what has happened to it. */
async function sale(tx: Db, orderLineId: string) {
  const keys = saleKeys(orderLineId);
  const [c] = await tx.select().from(ledgerTransactions).where(eq(ledgerTransactions.key, keys.charge)).for('update');
  if (!c) return undefined;
  return { charge: c, keys, settled: await byKey(tx, keys.settle), refunded: await byKey(tx, keys.refund) };
}

/**
 * The sale takes effect: clearing pays the seller its share and the marketplace its commission, at the
 * product's rate now. Once per sale; nothing for a sale never charged, already refunded or free.
 */
export async function settle(db: Db, a: { orderLineId: string; at?: Date; memo?: string }): Promise<Transaction | undefined> {
  return db.transaction(async (tx) => {
    const s = await sale(tx, a.orderLineId);
    if (!s) return undefined;
    if (s.settled || s.refunded || s.charge.grossCents === 0) return s.settled;
    const [product] = await tx.select({ rate: products.commissionRateBp }).from(products).where(eq(products.id, s.charge.productId!));
    const commission = commissionOf(s.charge.grossCents, product?.rate ?? 0);
    const r = await post(tx, {
      ...saleOf(s.charge), key: s.keys.settle, kind: 'settlement', commissionCents: commission, at: a.at, memo: a.memo ?? 'settled',
      entries: settlementEntries(s.charge.merchantId!, s.charge.grossCents, commission),
    });
    return r.transaction;
  });
}

/** Gives the sale's money back to the buyer, once: from clearing, or from the seller and the commission if it was settled. */
export async function refund(db: Db, a: { orderLineId: string; memo: string; at?: Date }): Promise<Transaction | undefined> {
  return db.transaction(async (tx) => {
    const s = await sale(tx, a.orderLineId);
    if (!s) return undefined;
    if (s.refunded) return s.refunded;
    const settled = s.settled ? { merchantId: s.charge.merchantId!, commission: s.settled.commissionCents } : undefined;
    const r = await post(tx, {
      ...saleOf(s.charge), key: s.keys.refund, kind: 'refund', commissionCents: settled?.commission ?? 0,
      memo: a.memo, at: a.at, entries: refundEntries(s.charge.buyerId!, s.charge.grossCents, settled),
    });
    return r.transaction;
  });
}

/**
 * The trial balance: each kind of account with its total from entries (they sum to zero), the
 * transactions whose entries do not balance, and kept balances that differ from their entries. A
 * healthy ledger has a zero total and both lists empty.
 */
export async function trialBalance(db: Db) {
  const kinds = await db.select({ kind: ledgerAccounts.kind, accounts: sql<number>`count(distinct ${ledgerAccounts.id})::int`, totalCents: sql<string>`coalesce(sum(${ledgerEntries.amountCents}), 0)` })
    .from(ledgerAccounts).leftJoin(ledgerEntries, eq(ledgerEntries.accountId, ledgerAccounts.id)).groupBy(ledgerAccounts.kind).orderBy(ledgerAccounts.kind);
  const unbalanced = await db.execute(sql`
    select t.id from ${ledgerTransactions} t left join ${ledgerEntries} e on e.transaction_id = t.id
    group by t.id having count(e.id) < 2 or coalesce(sum(e.amount_cents), 0) <> 0 limit 100`);
  const drifted = await db.execute(sql`
    select a.id, a.balance_cents as kept, coalesce(sum(e.amount_cents), 0) as entries from ${ledgerAccounts} a
    left join ${ledgerEntries} e on e.account_id = a.id where a.balance_cents is not null
    group by a.id having a.balance_cents <> coalesce(sum(e.amount_cents), 0) limit 100`);
  const byKind = kinds.map((k) => ({ kind: k.kind, accounts: k.accounts, totalCents: Number(k.totalCents) }));
  return {
    kinds: byKind,
    totalCents: byKind.reduce((s, k) => s + k.totalCents, 0),
    unbalancedTransactions: rows<{ id: string }>(unbalanced).map((r) => Number(r.id)),
    balanceMismatches: rows<{ id: string; kept: string; entries: string }>(drifted).map((r) => ({ accountId: r.id, keptCents: Number(r.kept), entriesCents: Number(r.entries) })),
  };
}

/** node-postgres answers `execute` with a result object, PGlite with one too; both keep the rows in `rows`. */
const rows = <T>(r: unknown): T[] => (r as { rows: T[] }).rows;

