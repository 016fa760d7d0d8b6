/**
 * Conformance runs over the API with the dev server, PostgreSQL, the real worker and reference
 * sellers: a run is requested, runs in a workflow, is read back; a passing run is recorded on the
 * product and shown when an operator puts it on sale; a failing one lists its failures in the
 * seller's messages; the marketplace's own faults end a run as `error` without blaming the seller.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTransactions, notifications, products } from '../../db/schema';
import { createSecretBox } from '../../domain/secret-box';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { sellerConformanceWorkflowId } from '../../workflows/seller-conformance-messages';
import { expectHistoryWithin } from '../support/history';
import { startSystem, type System } from '../support/system';
import { eventually } from '../support/eventually';

const AK = 'conformance-it-access-key-0123';
let s: System;
let good: ReferenceSeller;
let careless: ReferenceSeller;
let operator: { id: string; key: string };
let seller: { id: string; key: string };
let otherSeller: { id: string; key: string };

beforeAll(async () => {
  s = await startSystem();
  // Slow enough that a second request finds the first run still under way.
  good = await startReferenceSeller({ accessKey: AK, port: 0, faults: { slowMs: 150 } });
  careless = await startReferenceSeller({ accessKey: AK, port: 0, faults: { noNonceCheck: true } });
  operator = await s.party('operator');
  seller = await s.party('seller', { merchantId: await s.merchant() });
  otherSeller = await s.party('seller', { merchantId: await s.merchant() });
});
afterAll(async () => { await good?.close(); await careless?.close(); await s?.close(); });

async function saasProduct(url: string, chargingMode = 'monthly') {
  const r = await s.call('POST', '/v1/products', { key: seller.key, body: {
    name: 'Cloud CRM', deliveryType: 'saas', productionUrl: url, accessKey: AK, skus: [{ name: 'Standard', chargingMode, periods: 1, priceCents: 9900 }],
  } });
  expect(r.status).toBe(201);
  return r.json.id as string;
}
const finished = (runId: string) => eventually(() => s.call('GET', `/v1/conformance-runs/${runId}`, { key: seller.key }), (r) => r.json.status !== 'running', `run ${runId}`);

describe('seller conformance runs over the API', () => {
  it('a passing run: 202 and the run to follow, the same run while it is under way, the report read back, recorded on the product and shown at on-sale', async () => {
    const productId = await saasProduct(good.url);
    const ledgerBefore = (await s.db.select().from(ledgerTransactions)).length;
    const started = await s.call('POST', `/v1/products/${productId}/conformance-runs`, { key: seller.key, body: {} });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ productId, status: 'running', counts: null, failures: [] });
    const runId = started.json.id as string;
    expect(started.headers.get('location')).toBe(`/v1/conformance-runs/${runId}`);
    const again = await s.call('POST', `/v1/products/${productId}/conformance-runs`, { key: seller.key, body: {} });
    expect([again.status, again.json.id]).toEqual([200, runId]);

    const done = await finished(runId);
    expect(done.json).toMatchObject({ status: 'passed', failures: [], stuck: null, options: { timeoutMs: 5000, periodic: true } });
    expect(done.json.counts).toEqual({ passed: 17, failed: 0, warning: 0, skipped: 1 });
    expect(done.json.checks.map((c: { id: string }) => c.id)).toContain('replayed-nonce');
    expect(done.json.checks.find((c: { id: string }) => c.id === 'new-instance').exchanges[0].request.url).toContain(good.url);
    // Every call was marked testFlag=1 and nothing was charged.
    expect(good.received.length).toBeGreaterThan(15);
    expect(good.received.every((c) => (c.body as { testFlag?: string }).testFlag === '1')).toBe(true);
    expect((await s.db.select().from(ledgerTransactions)).length).toBe(ledgerBefore);

    const [row] = await s.db.select().from(products).where(eq(products.id, productId));
    expect(row!.conformanceRunId).toBe(runId);
    const onSale = await s.call('POST', `/v1/products/${productId}/on-sale`, { key: operator.key, body: {} });
    expect(onSale.json.conformance).toEqual({ passedRunId: runId, passedAt: done.json.finishedAt });
    const list = await s.call('GET', `/v1/products/${productId}/conformance-runs`, { key: operator.key });
    expect(list.json.items.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([[runId, 'passed']]);

    // The workflow's history stays small whatever the seller does: the kit's calls live in one activity.
    await expectHistoryWithin(s.env.client, s.env.client.workflow.getHandle(sellerConformanceWorkflowId(runId)), 20);
  });

  it('a failing run lists its failures in the seller\'s messages and leaves the product without a passing run', async () => {
    const productId = await saasProduct(careless.url, 'one_time');
    const runId = (await s.call('POST', `/v1/products/${productId}/conformance-runs`, { key: seller.key, body: {} })).json.id as string;
    const done = await finished(runId);
    expect(done.json.status).toBe('failed');
    expect(done.json.options.periodic).toBe(false);
    expect(done.json.failures).toEqual([expect.stringMatching(/^replayed-nonce: NOT refused: HTTP 200, resultCode 000000/)]);
    expect(done.json.checks.filter((c: { status: string }) => c.status === 'skipped').map((c: { id: string }) => c.id)).toEqual(['async-ready', 'refresh', 'freeze-unfreeze']);
    const messages = await eventually(() => s.call('GET', '/v1/messages', { key: seller.key }),
      (r) => r.json.items.some((m: { subject: string }) => m.subject.includes(runId)), 'the seller\'s message');
    const message = messages.json.items.find((m: { subject: string }) => m.subject.includes(runId));
    expect(message.body).toContain('- replayed-nonce: NOT refused');
    expect((await s.call('GET', `/v1/products/${productId}`, { key: seller.key })).json.conformance).toEqual({ passedRunId: null, passedAt: null });
  });

  it('the marketplace\'s own fault (a key that does not decrypt) holds the run in stuck for operators, shown in the run, with no message to the seller', async () => {
    const productId = await saasProduct(good.url);
    await s.db.update(products).set({ accessKeyEnc: createSecretBox('b'.repeat(64)).seal(AK) }).where(eq(products.id, productId));
    const runId = (await s.call('POST', `/v1/products/${productId}/conformance-runs`, { key: seller.key, body: {} })).json.id as string;
    const held = await eventually(() => s.call('GET', `/v1/conformance-runs/${runId}`, { key: seller.key }), (r) => r.json.stuck !== null, 'stuck');
    expect(held.json).toMatchObject({ status: 'running', counts: null, failures: [], checks: [], stuck: { step: 'runConformanceKit', failureType: 'MarketplaceFault' } });
    expect(held.json.stuck.message).toMatch(/does not decrypt/);
    const stuckList = await s.call('GET', '/v1/stuck-processes', { key: operator.key });
    expect(JSON.stringify(stuckList.json)).toContain(sellerConformanceWorkflowId(runId));
    // A second request gets the held run, not a second one.
    const again = await s.call('POST', `/v1/products/${productId}/conformance-runs`, { key: seller.key, body: {} });
    expect([again.status, again.json.id, again.json.stuck?.failureType]).toEqual([200, runId, 'MarketplaceFault']);
    const told = await s.db.select().from(notifications).where(eq(notifications.recipientPrincipalId, seller.id));
    expect(told.filter((n) => n.subject.includes(runId))).toEqual([]);
  });

  it('only the product\'s seller runs it; others get 404, buyers 403; a product without a production interface 409; bad input 400', async () => {
    const productId = await saasProduct(good.url);
    expect((await s.call('POST', `/v1/products/${productId}/conformance-runs`, { key: otherSeller.key, body: {} })).status).toBe(404);
    expect((await s.call('GET', `/v1/products/${productId}/conformance-runs`, { key: otherSeller.key })).status).toBe(404);
    const buyer = await s.party('buyer');
    expect((await s.call('POST', `/v1/products/${productId}/conformance-runs`, { key: buyer.key, body: {} })).status).toBe(403);
    expect((await s.call('POST', `/v1/products/${productId}/conformance-runs`, { key: seller.key, body: { timeoutMs: 1 } })).status).toBe(400);
    const image = await s.call('POST', '/v1/products', { key: seller.key, body: { name: 'Image', deliveryType: 'image', skus: [{ name: 'x', chargingMode: 'one_time', priceCents: 100 }] } });
    const refused = await s.call('POST', `/v1/products/${image.json.id}/conformance-runs`, { key: seller.key, body: {} });
    expect(refused.status).toBe(409);
    expect(refused.type).toContain('application/problem+json');
    const runId = (await s.call('POST', `/v1/products/${productId}/conformance-runs`, { key: seller.key, body: {} })).json.id as string;
    expect((await s.call('GET', `/v1/conformance-runs/${runId}`, { key: otherSeller.key })).status).toBe(404);
    expect((await s.call('GET', `/v1/conformance-runs/${runId}`, { key: operator.key })).status).toBe(200);
    expect((await s.call('GET', '/v1/conformance-runs/CRNOSUCHRUN00000', { key: seller.key })).status).toBe(404);
    await finished(runId);
  });
});
