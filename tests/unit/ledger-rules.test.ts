import { describe, expect, it } from 'vitest';
import {
  accountKind, buyerAccount, chargeEntries, commissionOf, MARKETPLACE, refundEntries, sellerAccount, settlementEntries,
  settlementStatus, topUpEntries, type Entry,
} from '../../domain/ledger';

const sum = (es: Entry[]) => es.reduce((s, e) => s + e.amountCents, 0);

describe('ledger rules: which accounts each business event moves', () => {
  it('a top-up moves money from payments received to the buyer', () => {
    expect(topUpEntries('P1', 5000)).toEqual([{ account: MARKETPLACE.payments, amountCents: -5000 }, { account: 'buyer:P1', amountCents: 5000 }]);
  });

  it('a charge holds the buyer\'s money in clearing; settlement splits it between seller and commission', () => {
    expect(chargeEntries('P1', 9900)).toEqual([{ account: 'buyer:P1', amountCents: -9900 }, { account: MARKETPLACE.clearing, amountCents: 9900 }]);
    expect(settlementEntries('M1', 9900, commissionOf(9900, 1000))).toEqual([
      { account: MARKETPLACE.clearing, amountCents: -9900 }, { account: 'seller:M1', amountCents: 8910 }, { account: MARKETPLACE.commission, amountCents: 990 },
    ]);
  });

  it('a refund comes from clearing before settlement, and from seller and commission after it', () => {
    expect(refundEntries('P1', 9900)).toEqual([{ account: MARKETPLACE.clearing, amountCents: -9900 }, { account: 'buyer:P1', amountCents: 9900 }]);
    expect(refundEntries('P1', 9900, { merchantId: 'M1', commission: 990 })).toEqual([
      { account: 'seller:M1', amountCents: -8910 }, { account: MARKETPLACE.commission, amountCents: -990 }, { account: 'buyer:P1', amountCents: 9900 },
    ]);
  });

  it('every rule sums to zero, and zero movements are left out', () => {
    for (const es of [topUpEntries('P', 1), chargeEntries('P', 123), settlementEntries('M', 123, 12), refundEntries('P', 123), refundEntries('P', 123, { merchantId: 'M', commission: 12 })]) {
      expect(sum(es)).toBe(0);
      expect(es.length).toBeGreaterThanOrEqual(2);
    }
    expect(settlementEntries('M', 1000, 0)).toEqual([{ account: MARKETPLACE.clearing, amountCents: -1000 }, { account: 'seller:M', amountCents: 1000 }]);
    expect(chargeEntries('P', 0)).toEqual([]);
  });

  it('rounds the commission half up to the cent, and refuses impossible amounts', () => {
    expect(commissionOf(9900, 1000)).toBe(990);
    expect(commissionOf(5, 1000)).toBe(1); // 0.5 cent rounds up
    expect(commissionOf(4, 1000)).toBe(0);
    expect(commissionOf(12345, 0)).toBe(0);
    expect(commissionOf(12345, 10_000)).toBe(12345);
    expect(() => commissionOf(100, 10_001)).toThrow(RangeError);
    expect(() => chargeEntries('P', -1)).toThrow(RangeError);
    expect(() => chargeEntries('P', 1.5)).toThrow(RangeError);
    expect(() => settlementEntries('M', 100, 101)).toThrow(RangeError);
  });

  it('names accounts by owner and reads the kind back', () => {
    expect(accountKind(buyerAccount('P9'))).toEqual({ kind: 'buyer', ownerId: 'P9' });
    expect(accountKind(sellerAccount('M9'))).toEqual({ kind: 'seller_payable', ownerId: 'M9' });
    expect(accountKind(MARKETPLACE.commission)).toEqual({ kind: 'commission', ownerId: null });
    expect(() => accountKind('elsewhere')).toThrow(RangeError);
  });

  it('a sale is pending, then settled, and refunded wins over both', () => {
    expect(settlementStatus(false, false)).toBe('pending');
    expect(settlementStatus(true, false)).toBe('settled');
    expect(settlementStatus(true, true)).toBe('refunded');
    expect(settlementStatus(false, true)).toBe('refunded');
  });
});
