import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { merchants } from '../../db/schema';
import { newId } from '../../domain/ids';
import { runSchemathesis } from '../fuzz/schemathesis';
import { startSystem, type System } from '../support/system';

/**
 * schemathesis against the real API (dev server, PostgreSQL, worker) as each role: no server error,
 * 405 for undeclared methods, valid requests accepted and invalid ones refused (README: "Fuzzing the API").
 * FUZZ_EXAMPLES raises the examples per operation for a longer local run.
 */
const EXAMPLES = Number(process.env.FUZZ_EXAMPLES ?? 8);
let s: System;
const keys: Record<string, string> = {};
beforeAll(async () => {
  s = await startSystem();
  keys.operator = (await s.party('operator')).key;
  const owner = await s.party('buyer');
  keys.buyer = owner.key;
  const merchantId = newId('M', 12);
  await s.db.insert(merchants).values({ id: merchantId, ownerPrincipalId: owner.id, status: 'active', onboardingApplicationId: 'MA-fuzz', profile: { companyName: 'Fuzz Seller' } });
  keys.seller = (await s.party('seller', { merchantId })).key;
});
afterAll(async () => s?.close());

describe('schemathesis against the API', () => {
  for (const role of ['operator', 'buyer', 'seller'] as const) {
    it(`finds nothing as the ${role}`, async () => {
      const r = await runSchemathesis({ baseUrl: s.baseUrl, apiKey: keys[role]!, maxExamples: EXAMPLES, seed: 9 });
      if (r.code !== 0) console.log(r.output);
      expect(r.output).toMatch(/passed/);
      expect(r.code).toBe(0);
    }, 600_000);
  }
});
