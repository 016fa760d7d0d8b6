import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, charge, post, refund, settle, topUp, trialBalance } from '../../db/ledger';
import { ledgerAccounts, ledgerEntries, ledgerTransactions, products } from '../../db/schema';
import { MARKETPLACE, sellerAccount } from '../../domain/ledger';
import { newId } from '../../domain/ids';
import { seedSaasProduct } from '../support/catalog';
import { freshDatabase } from '../support/db';
import { expectLedgerBalanced } from '../support/ledger';

let database: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { database = await freshDatabase(); });
afterEach(async () => { await expectLedgerBalanced(database.db); });
afterAll(async () => database?.drop());

const seed = (balanceCents = 0) => seedSaasProduct(database.db, { productionUrl: 'http://127.0.0.1:9/saasproduce', accessKey: 'k'.repeat(20), balanceCents });
const line = () => `CS${newId('', 12)}-000001`;
const entriesOf = async (id: number) => (await database.db.select().from(ledgerEntries).where(eq(ledgerEntries.transactionId, id)))
  .map((e) => [e.accountId, e.amountCents]).sort();
/** PostgreSQL's own message for a refused statement (drizzle wraps it as the cause). */
const refusal = async (p: Promise<unknown>) => {
  try { await p; } catch (e) { return String((e as { cause?: Error }).cause?.message ?? (e as Error).message); }
  return 'accepted';
};
const accountTotal = async (account: string) => Number((await database.db.execute(sql`select coalesce(sum(amount_cents), 0) as t from ledger_entries where account_id = ${account}`) as unknown as { rows: { t: string }[] }).rows[0]!.t);

describe('the ledger in PostgreSQL: the database enforces double entry', () => {
  it('refuses at commit a transaction whose entries do not sum to zero, or that has fewer than two', async () => {
    const { db } = database;
    const s = await seed(1000);
    const unbalanced = post(db, { key: `bad:${newId('', 8)}`, kind: 'top_up', grossCents: 1, entries: [{ account: MARKETPLACE.payments, amountCents: -1 }, { account: `buyer:${s.buyer}`, amountCents: 2 }] });
    expect(await refusal(unbalanced)).toMatch(/unbalanced|ledger_transactions_balanced/);
    expect(await refusal(db.transaction(async (tx) => {
      await tx.insert(ledgerTransactions).values({ key: `lonely:${newId('', 8)}`, kind: 'top_up', grossCents: 0 });
    }))).toMatch(/unbalanced: 0 entries/);
    expect(await db.select().from(ledgerTransactions).where(sql`${ledgerTransactions.key} like 'bad:%' or ${ledgerTransactions.key} like 'lonely:%'`)).toEqual([]);
    expect(await balanceOf(db, s.buyer)).toBe(1000);
  });

  it('is append-only, and balances move only with entries', async () => {
    const { db } = database;
    const s = await seed(500);
    expect(await refusal(db.update(ledgerEntries).set({ amountCents: 1 }))).toMatch(/append-only/);
    expect(await refusal(db.delete(ledgerTransactions))).toMatch(/append-only/);
    expect(await refusal(db.update(ledgerAccounts).set({ balanceCents: 1_000_000 }).where(eq(ledgerAccounts.id, `buyer:${s.buyer}`)))).toMatch(/only through entries/);
    expect(await refusal(db.insert(ledgerAccounts).values({ id: 'buyer:PFAKE', kind: 'buyer', ownerId: 'PFAKE', balanceCents: 10 }))).toMatch(/opens at zero/);
    expect(await refusal(db.delete(ledgerAccounts).where(eq(ledgerAccounts.id, `buyer:${s.buyer}`)))).toMatch(/never deleted/);
    expect(await balanceOf(db, s.buyer)).toBe(500);
  });

  it('never lets a buyer\'s balance go below zero, even for a transaction written by hand', async () => {
    const { db } = database;
    const s = await seed(100);
    expect(await refusal(post(db, { key: `over:${newId('', 8)}`, kind: 'charge', grossCents: 101, entries: [{ account: `buyer:${s.buyer}`, amountCents: -101 }, { account: MARKETPLACE.clearing, amountCents: 101 }] })))
      .toMatch(/ledger_accounts_buyer_not_negative/);
    expect(await balanceOf(db, s.buyer)).toBe(100);
  });
});

describe('charges, settlements and refunds', () => {
  it('charges once per key, and answers a balance too low without writing anything', async () => {
    const { db } = database;
    const s = await seed(10_000);
    const id = line();
    const sale = { orderLineId: id, orderId: id.slice(0, -7), buyerId: s.buyer, merchantId: s.merchantId, productId: s.productId, amountCents: 9900, sale: 'new' as const };
    const first = await charge(db, sale);
    expect(first).toMatchObject({ ok: true, created: true });
    // A retry after the money is gone still finds its charge: the key, not the balance, decides.
    const again = await charge(db, sale);
    expect(again).toMatchObject({ ok: true, created: false });
    expect(again.ok && first.ok && again.transaction.id === first.transaction.id).toBe(true);
    expect(await balanceOf(db, s.buyer)).toBe(100);
    const poor = await charge(db, { ...sale, orderLineId: line() });
    expect(poor).toEqual({ ok: false, balanceCents: 100 });
    expect(await balanceOf(db, s.buyer)).toBe(100);
  });

  it('concurrent charges of one buyer spend the balance once', async () => {
    const { db } = database;
    const s = await seed(100);
    const results = await Promise.all(Array.from({ length: 5 }, () => charge(db, { orderLineId: line(), buyerId: s.buyer, merchantId: s.merchantId, productId: s.productId, amountCents: 30, sale: 'new' })));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(await balanceOf(db, s.buyer)).toBe(10);
  });

  it('settles at the product\'s commission rate, and a refund after settlement takes back both shares', async () => {
    const { db } = database;
    const s = await seed(10_000);
    await db.update(products).set({ commissionRateBp: 1500 }).where(eq(products.id, s.productId));
    const id = line();
    await charge(db, { orderLineId: id, buyerId: s.buyer, merchantId: s.merchantId, productId: s.productId, amountCents: 9900, sale: 'new' });
    const settled = (await settle(db, { orderLineId: id }))!;
    expect(settled).toMatchObject({ kind: 'settlement', grossCents: 9900, commissionCents: 1485, merchantId: s.merchantId });
    expect(await entriesOf(settled.id)).toEqual([[MARKETPLACE.clearing, -9900], [MARKETPLACE.commission, 1485], [sellerAccount(s.merchantId), 8415]].sort());
    expect((await settle(db, { orderLineId: id }))!.id).toBe(settled.id);
    expect(await accountTotal(sellerAccount(s.merchantId))).toBe(8415);

    const back = (await refund(db, { orderLineId: id, memo: 'unsubscribed' }))!;
    expect(await entriesOf(back.id)).toEqual([[`buyer:${s.buyer}`, 9900], [MARKETPLACE.commission, -1485], [sellerAccount(s.merchantId), -8415]].sort());
    expect((await refund(db, { orderLineId: id, memo: 'again' }))!.id).toBe(back.id);
    expect(await balanceOf(db, s.buyer)).toBe(10_000);
    expect(await accountTotal(sellerAccount(s.merchantId))).toBe(0);
  });

  it('a refund before settlement comes from clearing, and the sale then never settles', async () => {
    const { db } = database;
    const s = await seed(500);
    const id = line();
    await charge(db, { orderLineId: id, buyerId: s.buyer, merchantId: s.merchantId, productId: s.productId, amountCents: 500, sale: 'renewal' });
    const back = (await refund(db, { orderLineId: id, memo: 'renewal period unsubscribed' }))!;
    expect(await entriesOf(back.id)).toEqual([[`buyer:${s.buyer}`, 500], [MARKETPLACE.clearing, -500]].sort());
    expect(await settle(db, { orderLineId: id })).toBeUndefined();
    expect(await refund(db, { orderLineId: line(), memo: 'never charged' })).toBeUndefined();
    expect(await balanceOf(db, s.buyer)).toBe(500);
  });

  it('the trial balance lists every kind and sums to zero; top-ups are idempotent by key', async () => {
    const { db } = database;
    const s = await seed();
    await topUp(db, { key: 'top-up:once', buyerId: s.buyer, amountCents: 700 });
    await topUp(db, { key: 'top-up:once', buyerId: s.buyer, amountCents: 700 });
    expect(await balanceOf(db, s.buyer)).toBe(700);
    const tb = await trialBalance(db);
    expect(tb.totalCents).toBe(0);
    expect(tb.kinds.map((k) => k.kind)).toEqual(['buyer', 'clearing', 'commission', 'payments', 'seller_payable']);
    expect(tb.kinds.find((k) => k.kind === 'payments')!.totalCents).toBeLessThan(0);
  });
});
