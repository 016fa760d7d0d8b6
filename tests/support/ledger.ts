import { expect } from 'vitest';
import type { Db } from '../../db/client';
import { balanceOf, trialBalance } from '../../db/ledger';

/** The ledger's trial balance sums to zero, every transaction balances, and kept balances match their entries. */
export async function expectLedgerBalanced(db: Db) {
  const tb = await trialBalance(db);
  expect(tb.unbalancedTransactions).toEqual([]);
  expect(tb.balanceMismatches).toEqual([]);
  expect(tb.totalCents).toBe(0);
  return tb;
}

/** A buyer's balance as the ledger keeps it. */
export const balance = (db: Db, buyerId: string) => balanceOf(db, buyerId);
