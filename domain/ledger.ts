/**
 * The double-entry rules of money (docs/decisions/010-double-entry-ledger.md): which accounts each kind
 * of business event moves, and by how much. Pure, so every rule is tested without a database.
 *
 * Signs: an entry adds to what the marketplace owes the account's holder. A buyer's balance and a
 * seller's payable are positive when money is theirs; the marketplace's payments account goes negative
 * by the money it received. The entries of every transaction sum to zero, so all balances do too.
 */
export const MARKETPLACE = {
  /** Money charged to buyers and not yet settled to a seller or refunded. */
  clearing: 'marketplace:clearing',
  /** The marketplace's commission on settled sales. */
  commission: 'marketplace:commission',
  /** Money received from the payment system (top-ups). */
  payments: 'marketplace:payments',
} as const;

export type AccountKind = 'buyer' | 'seller_payable' | 'clearing' | 'commission' | 'payments';
export const buyerAccount = (principalId: string) => `buyer:${principalId}`;
export const sellerAccount = (merchantId: string) => `seller:${merchantId}`;

/** The account's kind and owner, read from its id. */
export function accountKind(id: string): { kind: AccountKind; ownerId: string | null } {
  if (id.startsWith('buyer:')) return { kind: 'buyer', ownerId: id.slice(6) };
  if (id.startsWith('seller:')) return { kind: 'seller_payable', ownerId: id.slice(7) };
  if (id === MARKETPLACE.clearing) return { kind: 'clearing', ownerId: null };
  if (id === MARKETPLACE.commission) return { kind: 'commission', ownerId: null };
  if (id === MARKETPLACE.payments) return { kind: 'payments', ownerId: null };
  throw new RangeError(`unknown ledger account ${id}`);
}

export interface Entry { account: string; amountCents: number }

const cents = (n: number, what: string) => {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative whole number of cents, got ${n}`);
  return n;
};
/** Zero entries say nothing; a transaction keeps only the accounts it moves. */
const moved = (entries: Entry[]) => entries.filter((e) => e.amountCents !== 0);

/** The commission on a sale at a rate in basis points, rounded half up to the cent. */
export function commissionOf(grossCents: number, rateBp: number): number {
  cents(grossCents, 'grossCents');
  if (!Number.isInteger(rateBp) || rateBp < 0 || rateBp > 10_000) throw new RangeError(`rateBp must be 0..10000, got ${rateBp}`);
  return Math.floor((grossCents * rateBp + 5000) / 10_000);
}

/** Money paid in from outside: the buyer's balance grows. */
export const topUpEntries = (buyerId: string, amount: number): Entry[] =>
  moved([{ account: MARKETPLACE.payments, amountCents: -cents(amount, 'amount') }, { account: buyerAccount(buyerId), amountCents: amount }]);

/** A sale charged to the buyer's balance, held in clearing until it is settled or refunded. */
export const chargeEntries = (buyerId: string, amount: number): Entry[] =>
  moved([{ account: buyerAccount(buyerId), amountCents: -cents(amount, 'amount') }, { account: MARKETPLACE.clearing, amountCents: amount }]);

/** A sale takes effect: clearing pays the seller its share and the marketplace its commission. */
export const settlementEntries = (merchantId: string, gross: number, commission: number): Entry[] => {
  if (cents(commission, 'commission') > cents(gross, 'gross')) throw new RangeError('the commission exceeds the sale');
  return moved([
    { account: MARKETPLACE.clearing, amountCents: -gross },
    { account: sellerAccount(merchantId), amountCents: gross - commission },
    { account: MARKETPLACE.commission, amountCents: commission },
  ]);
};

/**
 * The sale's money back to the buyer: from clearing when it was never settled, otherwise taken back from
 * the seller's share and the commission it was settled into.
 */
export const refundEntries = (buyerId: string, gross: number, settled?: { merchantId: string; commission: number }): Entry[] =>
  moved(settled
    ? [
        { account: sellerAccount(settled.merchantId), amountCents: -(cents(gross, 'gross') - cents(settled.commission, 'commission')) },
        { account: MARKETPLACE.commission, amountCents: -settled.commission },
        { account: buyerAccount(buyerId), amountCents: gross },
      ]
    : [{ account: MARKETPLACE.clearing, amountCents: -cents(gross, 'gross') }, { account: buyerAccount(buyerId), amountCents: gross }]);

export type SettlementStatus = 'pending' | 'settled' | 'refunded';
/** A sale as its seller sees it: pending until settled, refunded once the buyer has the money back. */
export const settlementStatus = (settled: boolean, refunded: boolean): SettlementStatus =>
  refunded ? 'refunded' : settled ? 'settled' : 'pending';
