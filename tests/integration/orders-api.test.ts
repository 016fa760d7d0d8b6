import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { orders, products } from '../../db/schema';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { expectLedgerBalanced } from '../support/ledger';
import { recordHistory } from '../support/replay';
import { startSystem, type System } from '../support/system';
import { QUERY_ORDER_PATH } from '../../api/routes/open-api';
import { ensureDialTestSchedule } from '../../api/schedules';
import { DIAL_TEST_SCHEDULE_ID } from '../../workflows/dial-tests';
import { signOpenApiCall } from '../../domain/open-api-signing';
import { eventually } from '../support/eventually';

const ACCESS_KEY = 'integration-seller-access-key';
let s: System;
let seller: ReferenceSeller;
let operator: { id: string; key: string };
let buyer: { id: string; key: string };
let sellerA: { id: string; key: string; merchantId: string };
let sellerB: { id: string; key: string };

beforeAll(async () => {
  s = await startSystem();
  seller = await startReferenceSeller({ accessKey: ACCESS_KEY, port: 0 });
  operator = await s.party('operator');
  buyer = await s.party('buyer');
  const merchantA = await s.merchant();
  sellerA = { ...(await s.party('seller', { merchantId: merchantA })), merchantId: merchantA };
  sellerB = await s.party('seller', { merchantId: await s.merchant() });
  s.secret(ACCESS_KEY);
  s.secret('seller-b-access-key-000');
});
afterEach(async () => { await expectLedgerBalanced(s.db); });
afterAll(async () => { await seller?.close(); await s?.close(); });

describe('SaaS orders over HTTP with the dev server, PostgreSQL and the reference seller', () => {
  let productId: string;
  let skuId: string;

  it('a seller lists a SaaS product, an operator puts it on sale, and the access key stays encrypted', async () => {
    const created = await s.call('POST', '/v1/products', { key: sellerA.key, body: {
      name: 'Cloud CRM', deliveryType: 'saas', productionUrl: seller.url, accessKey: ACCESS_KEY,
      skus: [{ name: 'Standard, 1 month', chargingMode: 'monthly', periods: 1, priceCents: 9900 }],
    } });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(ACCESS_KEY);
    productId = created.json.id;
    skuId = created.json.skus[0].id;
    const [row] = await s.db.select().from(products).where(eq(products.id, productId));
    expect(row!.accessKeyEnc).toMatch(/^v2\./);
    expect(row!.accessKeyEnc).not.toContain(ACCESS_KEY);

    expect((await s.call('GET', `/v1/products/${productId}`, { key: buyer.key })).status).toBe(404);
    expect((await s.call('POST', `/v1/products/${productId}/on-sale`, { key: sellerA.key, body: {} })).status).toBe(403);
    expect((await s.call('POST', `/v1/products/${productId}/on-sale`, { key: operator.key, body: {} })).json.status).toBe('on_sale');
    const seen = await s.call('GET', `/v1/products/${productId}`, { key: buyer.key });
    expect(seen.json.productionUrl).toBeNull();
    const bad = await s.call('POST', '/v1/products', { key: sellerA.key, body: { name: 'x', deliveryType: 'saas', skus: [] } });
    expect(bad.status).toBe(400);
  });

  it('a buyer with too little balance gets 402 and no order', async () => {
    const before = (await s.db.select().from(orders)).length;
    const poor = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId }] } });
    expect(poor.status).toBe(402);
    expect(poor.type).toContain('application/problem+json');
    expect((await s.db.select().from(orders)).length).toBe(before);
  });

  it('orders, provisions through the seller, and shows the instance live', async () => {
    expect((await s.call('POST', `/v1/accounts/${buyer.id}/top-up`, { key: operator.key, body: { amountCents: 20_000 } })).json.balanceCents).toBe(20_000);
    // The reference seller confirms each new order line with Query Order before it provisions.
    seller.setQueryOrder({ baseUrl: s.baseUrl, keyId: productId });
    const placed = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId }] }, headers: { 'idempotency-key': 'order-1' } });
    expect(placed.status).toBe(201);
    expect(placed.json.id).toMatch(/^CS\d{10}[A-Z0-9]{8}$/);
    expect(placed.json.lines[0].id).toBe(`${placed.json.id}-000001`);
    const again = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId }] }, headers: { 'idempotency-key': 'order-1' } });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(placed.json.id);
    expect((await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents).toBe(20_000 - 9900);
    // The same key sent twice at the same moment: one order, one charge.
    const racing = await Promise.all([1, 2].map(() => s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId }] }, headers: { 'idempotency-key': 'order-race' } })));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 201]);
    expect(racing[0]!.json.id).toBe(racing[1]!.json.id);
    expect((await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents).toBe(20_000 - 2 * 9900);

    const done = await eventually(() => s.call('GET', `/v1/orders/${placed.json.id}`, { key: buyer.key }), (r) => r.json.status === 'completed', 'delivery');
    const instanceId = done.json.lines[0].instanceId as string;
    expect(seller.queryOrderCalls.filter((c) => c.orderLineId === placed.json.lines[0].id)).toEqual([expect.objectContaining({ ok: true, httpStatus: 200 })]);
    expect([...seller.instances().values()].filter((i) => i.orderLineId === placed.json.lines[0].id)).toHaveLength(1);
    const inst = await s.call('GET', `/v1/instances/${instanceId}`, { key: buyer.key });
    expect(inst.status).toBe(200);
    expect(inst.json).toMatchObject({ instanceId, live: true });
    // Only its buyer reads the credentials: the live call is recorded masked, and operators see them masked.
    const password = inst.json.appInfo.password as string;
    expect(password.length).toBeGreaterThanOrEqual(8);
    const recorded = await s.call('GET', `/v1/interface-messages?orderLineId=${placed.json.lines[0].id}`, { key: sellerA.key });
    const view = recorded.json.items.find((m: { activity: string }) => m.activity === 'queryInstance');
    expect(view.response).toContain('"password":"***"');
    expect(recorded.text).not.toContain(password);
    const asOperator = await s.call('GET', `/v1/instances/${instanceId}`, { key: operator.key });
    expect(asOperator.json.appInfo).toMatchObject({ password: '***', userName: '***' });
    expect(inst.json.appInfo.frontEndUrl).toContain(instanceId);
    expect((await s.call('GET', `/v1/instances/${instanceId}`, { key: buyer.key })).json.live).toBe(false);

    // Tenancy: another buyer and another seller see nothing of it.
    const other = await s.party('buyer');
    expect((await s.call('GET', `/v1/orders/${placed.json.id}`, { key: other.key })).status).toBe(404);
    expect((await s.call('GET', `/v1/instances/${instanceId}`, { key: other.key })).status).toBe(404);
    expect((await s.call('GET', `/v1/orders/${placed.json.id}`, { key: sellerB.key })).status).toBe(404);
    expect((await s.call('GET', `/v1/orders/${placed.json.id}`, { key: sellerA.key })).status).toBe(200);

    // The seller reads its production interface messages; another seller reads none of them.
    const mine = await s.call('GET', `/v1/interface-messages?orderLineId=${placed.json.lines[0].id}`, { key: sellerA.key });
    expect(mine.json.items.map((m: { activity: string; outcome: string }) => `${m.activity}:${m.outcome}`)).toContain('newInstance:success');
    expect((await s.call('GET', `/v1/interface-messages?orderLineId=${placed.json.lines[0].id}`, { key: sellerB.key })).json.items).toEqual([]);

    // A delivered line takes no restart, manual delivery or cancel.
    expect((await s.call('POST', `/v1/order-lines/${placed.json.lines[0].id}/cancel`, { key: buyer.key, body: {} })).status).toBe(409);
    expect((await s.call('POST', `/v1/order-lines/${placed.json.lines[0].id}/restart`, { key: sellerB.key, body: {} })).status).toBe(404);
    expect((await s.call('POST', `/v1/order-lines/${placed.json.lines[0].id}/deliver`, { key: sellerA.key, body: { instanceId: 'x' } })).status).toBe(409);
    orderId = placed.json.id;
  });

  let orderId: string;
  const queryOrder = (key: string, keyId: string, q: Record<string, string>, tamper: (h: Record<string, string>) => Record<string, string> = (h) => h, now = Date.now()) =>
    s.call('GET', `${QUERY_ORDER_PATH}?${new URLSearchParams(q)}`, { headers: tamper(signOpenApiCall(key, keyId, 'GET', QUERY_ORDER_PATH, q, now)) });

  it('a seller that cannot confirm the order with Query Order does not provision it', async () => {
    seller.setQueryOrder({ baseUrl: s.baseUrl, keyId: 'PRNOSUCHPRODUCT1' });
    await s.call('POST', `/v1/accounts/${buyer.id}/top-up`, { key: operator.key, body: { amountCents: 9900 } });
    try {
      const placed = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId }] } });
      const line = placed.json.lines[0].id as string;
      const first = await eventually(() => s.call('GET', `/v1/interface-messages?orderLineId=${line}`, { key: sellerA.key }), (r) => r.json.items.length > 0, 'the first attempt');
      expect(first.json.items[0]).toMatchObject({ activity: 'newInstance', outcome: 'retryable', resultCode: '000005' });
      expect([...seller.instances().values()].filter((i) => i.orderLineId === line)).toHaveLength(0);
      expect(seller.queryOrderCalls.filter((c) => c.orderLineId === line)).toEqual([expect.objectContaining({ ok: false, httpStatus: 401 })]);
      // The buyer gives up while the marketplace waits to retry: refunded.
      const balance = (await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents;
      expect((await s.call('POST', `/v1/order-lines/${line}/cancel`, { key: buyer.key, body: {} })).json.status).toBe('cancelled');
      expect((await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents).toBe(balance + 9900);
    } finally {
      seller.setQueryOrder({ baseUrl: s.baseUrl, keyId: productId });
    }
  });

  it('Query Order answers the seller that signed with its access key, and nobody else', async () => {
    const q = { orderId };
    const ok = await queryOrder(ACCESS_KEY, productId, q);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ resultCode: '000000', orderInfo: { orderId, orderType: 'NEW', orderLine: [{ orderLineId: `${orderId}-000001`, chargingMode: 'PERIOD', periodType: 'month', periodNumber: 1, skuCode: skuId }] } });
    expect(ok.json.orderInfo.createTime).toMatch(/^\d{14}$/);

    // Seller B, with its own product and key, cannot read seller A's order.
    const other = await s.call('POST', '/v1/products', { key: sellerB.key, body: { name: 'Other SaaS', deliveryType: 'saas', productionUrl: seller.url, accessKey: 'seller-b-access-key-000', skus: [{ name: 'x', chargingMode: 'one_time', priceCents: 1 }] } });
    expect((await queryOrder('seller-b-access-key-000', other.json.id, q)).status).toBe(404);

    const forged = await queryOrder('not-the-access-key-at-all', productId, q);
    expect(forged.status).toBe(401);
    expect(forged.json.detail).toContain('bad-signature');
    expect((await queryOrder(ACCESS_KEY, productId, q, (h) => h, Date.now() - 61_000)).json.detail).toContain('stale');
    const fixed = signOpenApiCall(ACCESS_KEY, productId, 'GET', QUERY_ORDER_PATH, q, Date.now());
    expect((await queryOrder(ACCESS_KEY, productId, q, () => fixed)).status).toBe(200);
    const replay = await queryOrder(ACCESS_KEY, productId, q, () => fixed);
    expect(replay.status).toBe(401);
    expect(replay.json.detail).toContain('replayed');
    expect((await queryOrder(ACCESS_KEY, productId, { orderId, orderLineId: `${orderId}-000002` })).status).toBe(404);
    expect((await s.call('GET', '/openapi.json')).json.paths[QUERY_ORDER_PATH].get.security).toEqual([{ sellerHmac: [] }]);
  });

  it('debug calls save passing cases, and the dial-test Schedule replays them on the dev server', async () => {
    const started = await s.call('POST', `/v1/products/${productId}/debug-calls`, { key: sellerA.key, body: { activity: 'newInstance' } });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/v1/products/${productId}/debug-calls/${started.json.debugCallId}`);
    const debug = await eventually(() => s.call('GET', started.headers.get('location')!, { key: sellerA.key }), (r) => r.json.status === 'done', 'the debug call');
    expect(debug.json.result).toMatchObject({ passed: true, resultCode: '000000' });
    expect(debug.json.result.savedCaseId).toMatch(/^DC/);
    await recordHistory(s.env.client.workflow.getHandle(started.json.workflowId), 'passing-debug-call');
    expect((await s.call('GET', started.headers.get('location')!, { key: sellerB.key })).status).toBe(404);
    expect((await s.call('POST', `/v1/products/${productId}/debug-calls`, { key: sellerB.key, body: { activity: 'newInstance' } })).status).toBe(404);
    expect((await s.call('POST', `/v1/products/${productId}/debug-calls`, { key: sellerA.key, body: { activity: 'releaseInstance' } })).status).toBe(400);
    const testCalls = seller.received.filter((c) => (c.body as { testFlag?: string })?.testFlag === '1');
    expect(testCalls.length).toBeGreaterThanOrEqual(1);

    expect(await ensureDialTestSchedule(s.env.client, s.config.TEMPORAL_TASK_QUEUE)).toBe('created');
    expect(await ensureDialTestSchedule(s.env.client, s.config.TEMPORAL_TASK_QUEUE)).toBe('exists');
    const schedule = s.env.client.schedule.getHandle(DIAL_TEST_SCHEDULE_ID);
    const described = await schedule.describe();
    expect(described.spec.timezone).toBe('Asia/Shanghai');
    expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 9, end: 9, step: 1 }, { start: 15, end: 15, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
    expect(described.policies.overlap).toBe('ALLOW_ALL');

    await schedule.trigger();
    const runs = await eventually(() => s.call('GET', `/v1/products/${productId}/dial-tests`, { key: sellerA.key }), (r) => r.json.runs?.length > 0, 'a dial-test run');
    expect(runs.json.runs[0]).toMatchObject({ passed: true });
    expect(runs.json.cases).toHaveLength(1);
    expect((await s.call('GET', `/v1/products/${productId}/dial-tests`, { key: sellerB.key })).status).toBe(404);
    await schedule.delete();
  });

  it('money on the ledger: the buyer\'s bills, the seller\'s transactions, the operator\'s trial balance', async () => {
    const balanceNow = (await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents;
    const bills = await s.call('GET', '/v1/bills', { key: buyer.key });
    expect(bills.status).toBe(200);
    expect(bills.json.items[0].balanceAfterCents).toBe(balanceNow);
    expect(new Set(bills.json.items.map((b: { kind: string }) => b.kind))).toEqual(new Set(['top_up', 'charge', 'refund']));
    expect(bills.json.items.find((b: { orderId: string; kind: string }) => b.orderId === orderId && b.kind === 'charge')).toMatchObject({ amountCents: -9900, sale: 'new' });
    expect((await s.call('GET', '/v1/bills?period=2020-01', { key: buyer.key })).json.items).toEqual([]);
    expect((await s.call('GET', '/v1/bills?period=2020-13', { key: buyer.key })).status).toBe(400);

    // A top-up repeated with its Idempotency-Key credits once; only buyers have balances.
    for (let i = 0; i < 2; i++) await s.call('POST', `/v1/accounts/${buyer.id}/top-up`, { key: operator.key, body: { amountCents: 100 }, headers: { 'idempotency-key': 'pay-42' } });
    expect((await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents).toBe(balanceNow + 100);
    expect((await s.call('POST', `/v1/accounts/${sellerA.id}/top-up`, { key: operator.key, body: { amountCents: 100 } })).status).toBe(409);

    const mine = await s.call('GET', `/v1/transactions?orderId=${orderId}`, { key: sellerA.key });
    expect(mine.json.items).toEqual([expect.objectContaining({ orderLineId: `${orderId}-000001`, amountCents: 9900, commissionCents: 990, payableCents: 8910, settlementStatus: 'settled' })]);
    const refunded = await s.call('GET', '/v1/transactions?status=refunded', { key: sellerA.key });
    expect(refunded.json.items.length).toBeGreaterThanOrEqual(1);
    expect(refunded.json.items.every((t: { settlementStatus: string }) => t.settlementStatus === 'refunded')).toBe(true);
    const month = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);
    expect((await s.call('GET', `/v1/transactions?period=${month}`, { key: sellerA.key })).json.items.length).toBeGreaterThanOrEqual(3);
    expect((await s.call('GET', `/v1/transactions?orderId=${orderId}`, { key: sellerB.key })).json.items).toEqual([]);
    expect((await s.call('GET', '/v1/transactions', { key: buyer.key })).status).toBe(403);

    // The commission rate is the operator's, per product, and applies to sales settled from then on.
    expect((await s.call('PUT', `/v1/products/${productId}/commission`, { key: sellerA.key, body: { rateBp: 0 } })).status).toBe(403);
    expect((await s.call('PUT', `/v1/products/${productId}/commission`, { key: operator.key, body: { rateBp: 20_000 } })).status).toBe(400);
    expect((await s.call('PUT', `/v1/products/${productId}/commission`, { key: operator.key, body: { rateBp: 1500 } })).json).toEqual({ productId, rateBp: 1500 });
    expect((await s.call('GET', `/v1/transactions?orderId=${orderId}`, { key: sellerA.key })).json.items[0].commissionCents).toBe(990);

    const tb = await s.call('GET', '/v1/ledger/trial-balance', { key: operator.key });
    expect(tb.json).toMatchObject({ totalCents: 0, balanced: true, unbalancedTransactions: [], balanceMismatches: [] });
    expect((await s.call('GET', '/v1/ledger/trial-balance', { key: sellerA.key })).status).toBe(403);
    const payables = await s.call('GET', '/v1/ledger/accounts?kind=seller_payable', { key: operator.key });
    expect(payables.json.items.find((a: { ownerId: string }) => a.ownerId === sellerA.merchantId)?.totalCents).toBeGreaterThanOrEqual(8910);
  });

  it('leaves no secret in any workflow history or log line: access keys, API keys, the instances\' passwords', async () => {
    for (const inst of seller.instances().values()) s.secret(inst.appInfo.password);
    const checked = await s.assertNoSecretsLeaked();
    expect(checked.histories).toBeGreaterThan(3);
    expect(checked.logLines).toBeGreaterThan(20);
    // The buyer did read the password, live, from the instance view: it exists, it just is not kept anywhere.
    expect([...seller.instances().values()].some((i) => i.appInfo.password.length >= 8)).toBe(true);
  });
});
