import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSubscriptionService } from '../../api/subscription-service';
import { instances, orderLines, orders, subscriptions } from '../../db/schema';
import { newId } from '../../domain/ids';
import { firstRenewalAttempt } from '../../domain/periods';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { subscriptionWorkflowId } from '../../workflows/subscription-messages';
import { expectLedgerBalanced } from '../support/ledger';
import { startSystem, type System } from '../support/system';
import { eventually } from '../support/eventually';

const ACCESS_KEY = 'subscriptions-api-seller-key';
let s: System;
let seller: ReferenceSeller;
let operator: { id: string; key: string };
let buyer: { id: string; key: string };
let other: { id: string; key: string };
let sellerA: { id: string; key: string };
let sellerB: { id: string; key: string };
beforeAll(async () => {
  s = await startSystem();
  seller = await startReferenceSeller({ accessKey: ACCESS_KEY, port: 0 });
  operator = await s.party('operator');
  buyer = await s.party('buyer');
  other = await s.party('buyer');
  sellerA = await s.party('seller', { merchantId: await s.merchant() });
  sellerB = await s.party('seller', { merchantId: await s.merchant() });
});
afterEach(async () => { await expectLedgerBalanced(s.db); });
afterAll(async () => { await seller?.close(); await s?.close(); });

describe('subscriptions over HTTP with the dev server, PostgreSQL and the reference seller', () => {
  let instanceId: string;
  let path: string;

  it('a delivered monthly instance becomes a subscription: buyers, sellers and operators read it with nextActionAt', async () => {
    const product = await s.call('POST', '/v1/products', { key: sellerA.key, body: {
      name: 'Cloud CRM', deliveryType: 'saas', productionUrl: seller.url, accessKey: ACCESS_KEY,
      skus: [{ name: 'Standard, 1 month', chargingMode: 'monthly', periods: 1, priceCents: 3000 }],
    } });
    await s.call('POST', `/v1/products/${product.json.id}/on-sale`, { key: operator.key, body: {} });
    await s.call('POST', `/v1/accounts/${buyer.id}/top-up`, { key: operator.key, body: { amountCents: 10_000 } });
    const placed = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId: product.json.skus[0].id }] } });
    expect(placed.status).toBe(201);
    const list = await eventually(() => s.call('GET', '/v1/subscriptions', { key: buyer.key }), (r) => r.json.items?.[0]?.nextActionAt, 'the subscription');
    const sub = list.json.items[0];
    instanceId = sub.instanceId;
    path = `/v1/subscriptions/${encodeURIComponent(instanceId)}`;
    expect(sub).toMatchObject({ status: 'active', policy: 'no_renewal', trial: false, nextAction: 'notify-expiring', orderLineId: placed.json.lines[0].id });
    expect(sub.nextActionAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(sub.nextActionAt).toBe(firstRenewalAttempt(new Date(sub.expiresAt)).toISOString());
    expect((await s.call('GET', '/v1/subscriptions', { key: sellerA.key })).json.items.map((x: { instanceId: string }) => x.instanceId)).toContain(instanceId);
    expect((await s.call('GET', '/v1/subscriptions', { key: sellerB.key })).json.items).toEqual([]);
    expect((await s.call('GET', '/v1/subscriptions', { key: other.key })).json.items).toEqual([]);
    expect((await s.call('GET', '/v1/subscriptions?status=active', { key: operator.key })).json.items.map((x: { instanceId: string }) => x.instanceId)).toContain(instanceId);
    expect((await s.call('GET', path, { key: other.key })).status).toBe(404);
    expect((await s.call('GET', path, { key: sellerB.key })).status).toBe(404);
    expect((await s.call('GET', '/v1/subscriptions?status=gone', { key: buyer.key })).status).toBe(400);
    // Operators find it in the Web UI by its search attributes: state and expiry.
    const found = await eventually(async () => {
      const ids: string[] = [];
      const until = new Date(Date.parse(sub.expiresAt) + 1000).toISOString();
      for await (const wf of s.env.client.workflow.list({ query: `SubscriptionState = 'active' AND SubscriptionExpiresAt < '${until}'` })) ids.push(wf.workflowId);
      return ids;
    }, (ids) => ids.includes(subscriptionWorkflowId(instanceId)), 'the subscription in the visibility store');
    expect(found).toContain(subscriptionWorkflowId(instanceId));
  });

  it('the buyer sets the policy and renews; the history, bills and the seller\'s transactions show it', async () => {
    const set = await s.call('PUT', `${path}/expiry-policy`, { key: buyer.key, body: { policy: 'auto_renew' } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ policy: 'auto_renew', nextAction: 'renew' });
    expect((await s.call('PUT', `${path}/expiry-policy`, { key: buyer.key, body: { policy: 'sometimes' } })).status).toBe(400);
    expect((await s.call('PUT', `${path}/expiry-policy`, { key: sellerA.key, body: { policy: 'auto_renew' } })).status).toBe(403);
    expect((await s.call('PUT', `${path}/expiry-policy`, { key: other.key, body: { policy: 'auto_renew' } })).status).toBe(404);

    const renewed = await s.call('POST', `${path}/renew`, { key: buyer.key, body: { terms: 1 } });
    expect(renewed.status).toBe(200);
    expect(renewed.json.pendingRenewals).toHaveLength(1);
    // Twelve terms more than the balance holds: 402, nothing charged, and the failed attempt is in the history.
    const tooMuch = await s.call('POST', `${path}/renew`, { key: buyer.key, body: { terms: 12 } });
    expect(tooMuch.status).toBe(402);
    expect(tooMuch.type).toContain('application/problem+json');
    expect((await s.call('POST', `${path}/renew`, { key: buyer.key, body: { terms: 13 } })).status).toBe(400);
    expect((await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents).toBe(10_000 - 2 * 3000);

    const detail = await s.call('GET', path, { key: buyer.key });
    expect(detail.json.renewals).toEqual([expect.objectContaining({ kind: 'renewal', trigger: 'manual', periods: 1, priceCents: 3000, status: 'paid' })]);
    expect(detail.json.events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['started', 'policy_changed', 'renewed', 'renewal_failed']));
    const bills = await s.call('GET', '/v1/bills', { key: buyer.key });
    expect(bills.json.items[0]).toMatchObject({ kind: 'charge', sale: 'renewal', amountCents: -3000, instanceId });
    const sales = await s.call('GET', '/v1/transactions', { key: sellerA.key });
    expect(sales.json.items.find((t: { sale: string }) => t.sale === 'renewal')).toMatchObject({ settlementStatus: 'pending', amountCents: 3000, instanceId });
    await eventually(async () => seller.instance(instanceId)?.events ?? [], (e) => e.some((x) => x.activity === 'refreshInstance'), 'RENEWAL at the seller');
  });

  it('unsubscribes the renewal period, then the subscription; refuses what no longer applies', async () => {
    const back = await s.call('POST', `${path}/unsubscribe-renewal`, { key: buyer.key, body: {} });
    expect(back.status).toBe(200);
    expect(back.json).toMatchObject({ policy: 'no_renewal', pendingRenewals: [] });
    expect((await s.call('POST', `${path}/unsubscribe-renewal`, { key: buyer.key, body: {} })).status).toBe(409);
    expect((await s.call('POST', `${path}/restart`, { key: sellerA.key, body: {} })).status).toBe(409);
    expect((await s.call('POST', `${path}/convert`, { key: buyer.key, body: {} })).status).toBe(409);

    const gone = await s.call('POST', `${path}/unsubscribe`, { key: buyer.key, body: {} });
    expect(gone.status).toBe(200);
    expect(gone.json.status).toBe('released');
    expect((await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents).toBe(10_000);
    await eventually(() => s.call('GET', path, { key: sellerA.key }), (r) => r.json.status === 'released', 'the read model');
    await eventually(async () => seller.instance(instanceId)?.released, (r) => r === true, 'releaseInstance at the seller');
    expect((await s.call('POST', `${path}/renew`, { key: buyer.key, body: { terms: 1 } })).status).toBe(409);
  });

  it('the sweep starts a subscription whose workflow never started', async () => {
    const [line] = await s.db.select().from(orderLines).where(eq(orderLines.status, 'delivered')).limit(1);
    const [order] = await s.db.select().from(orders).where(eq(orders.id, line!.orderId));
    // A delivered instance whose rows were written as delivery writes them, and whose start was lost.
    const id = `I${newId('', 12)}`;
    const lineId = `${order!.id.slice(0, -5)}${newId('', 5)}-000001`;
    await s.db.insert(orders).values({ id: lineId.slice(0, -7), buyerPrincipalId: order!.buyerPrincipalId, status: 'completed', totalCents: 0 });
    await s.db.insert(orderLines).values({ id: lineId, orderId: lineId.slice(0, -7), productId: line!.productId, skuId: line!.skuId, merchantId: line!.merchantId, status: 'delivered', priceCents: 0, instanceId: id });
    await s.db.insert(instances).values({ id, orderLineId: lineId, productId: line!.productId, buyerPrincipalId: order!.buyerPrincipalId, deliveredBy: 'manual' }).onConflictDoNothing();
    const now = Date.now();
    await s.db.insert(subscriptions).values({
      id, orderLineId: lineId, buyerPrincipalId: order!.buyerPrincipalId, merchantId: line!.merchantId, productId: line!.productId, skuId: line!.skuId,
      trial: false, status: 'active', policy: 'no_renewal', deliveredAt: new Date(now), expiresAt: new Date(now + 30 * 86_400_000), createdAt: new Date(now - 60_000),
    });
    const service = createSubscriptionService({ db: s.db, temporal: s.env.client, config: s.config });
    expect(await service.sweep()).toBe(1);
    const row = await eventually(async () => (await s.db.select().from(subscriptions).where(eq(subscriptions.id, id)))[0]!, (r) => !!r.workflowStartedAt && !!r.nextActionAt, 'the swept subscription running');
    expect(row.nextAction).toBe('notify-expiring');
    expect((await s.env.client.workflow.getHandle(subscriptionWorkflowId(id)).describe()).status.name).toBe('RUNNING');
    expect(await service.sweep()).toBe(0);
  });
});
