import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialTestCases, interfaceMessages, merchants, products } from '../../db/schema';
import { newId } from '../../domain/ids';
import { createSecretBox } from '../../domain/secret-box';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { TEST_MASTER_KEY } from '../support/catalog';
import { startSystem, type System } from '../support/system';

const KEY = 'outbound-test-access-key';
let s: System;
let seller: { id: string; key: string };
let operator: { id: string; key: string };
let merchantId: string;
let reference: ReferenceSeller;
// Production rules: https only, no loopback or private addresses.
beforeAll(async () => {
  s = await startSystem({ config: { SELLER_ALLOW_HTTP: 'false', SELLER_ALLOW_PRIVATE: 'false' } });
  s.secret(KEY);
  operator = await s.party('operator');
  const owner = await s.party('buyer');
  merchantId = newId('M', 12);
  await s.db.insert(merchants).values({ id: merchantId, ownerPrincipalId: owner.id, status: 'active', onboardingApplicationId: 'MA-o', profile: { companyName: 'Outbound Co' } });
  seller = await s.party('seller', { merchantId });
  reference = await startReferenceSeller({ accessKey: KEY, port: 0 });
});
afterAll(async () => { await reference?.close(); await s?.close(); });

const stored = async () => ({
  products: (await s.db.select({ n: count() }).from(products))[0]!.n,
  messages: (await s.db.select({ n: count() }).from(interfaceMessages))[0]!.n,
  cases: (await s.db.select({ n: count() }).from(dialTestCases))[0]!.n,
});
const saas = (productionUrl: string) => ({ name: 'SaaS', deliveryType: 'saas', productionUrl, accessKey: KEY, skus: [{ name: 'x', chargingMode: 'one_time', priceCents: 1 }] });

describe('outbound calls go only where they should', () => {
  const refused = ['https://169.254.169.254/latest/meta-data', 'https://10.0.0.1/saasproduce', 'http://seller.example.com/saasproduce', 'https://127.0.0.1/x', 'https://[::ffff:169.254.169.254]/x'];

  it('refuses a production URL that is http, metadata, link-local, private or loopback when the product is saved', async () => {
    const before = await stored();
    for (const url of refused) {
      const r = await s.call('POST', '/v1/products', { key: seller.key, body: saas(url) });
      // An IPv6 literal is not a URL the document's pattern takes (400); the others are refused by the guard (422).
      expect(r.status, url).toBe(url.includes('[') ? 400 : 422);
      expect(r.json.errors[0].field).toBe('body.productionUrl');
    }
    expect(await stored()).toEqual(before);
  });

  it('refuses a debug call to such a URL saved earlier, and stores nothing', async () => {
    const before = await stored();
    for (const url of refused) {
      const id = newId('PR', 12);
      await s.db.insert(products).values({ id, merchantId, name: 'old', deliveryType: 'saas', productionUrl: url, accessKeyEnc: createSecretBox(TEST_MASTER_KEY).seal(KEY) });
      const r = await s.call('POST', `/v1/products/${id}/debug-calls`, { key: seller.key, body: { activity: 'newInstance' } });
      expect(r.status, url).toBe(422);
      expect(r.json.detail).toMatch(/does not call/);
    }
    const after = await stored();
    expect({ messages: after.messages, cases: after.cases }).toEqual({ messages: before.messages, cases: before.cases });
    // The reference seller on loopback is refused too under production rules: nothing reached it.
    expect(reference.received).toHaveLength(0);
  });

  it('operators require a Body-Sign per product and see which products sign', async () => {
    const id = newId('PR', 12);
    await s.db.insert(products).values({ id, merchantId, name: 'signs', deliveryType: 'saas', productionUrl: 'https://seller.example.com/x', accessKeyEnc: createSecretBox(TEST_MASTER_KEY).seal(KEY) });
    const shown = await s.call('GET', `/v1/products/${id}`, { key: operator.key });
    expect(shown.json.bodySign).toEqual({ required: false, lastReplySigned: null });
    const set = await s.call('PUT', `/v1/products/${id}/body-sign`, { key: operator.key, body: { required: true } });
    expect(set.json.bodySign.required).toBe(true);
    expect((await s.db.select().from(products).where(eq(products.id, id)))[0]!.requireBodySign).toBe(true);
    expect((await s.call('PUT', `/v1/products/${id}/body-sign`, { key: seller.key, body: { required: false } })).status).toBe(403);
  });
});
