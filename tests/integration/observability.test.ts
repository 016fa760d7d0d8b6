import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { merchants } from '../../db/schema';
import { newId } from '../../domain/ids';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { startSystem, type System } from '../support/system';
import { eventually } from '../support/eventually';

const KEY = 'observability-access-key';
const spans = new InMemorySpanExporter();
let s: System;
let seller: ReferenceSeller;
beforeAll(async () => {
  s = await startSystem({ spanExporter: spans });
  s.secret(KEY);
  seller = await startReferenceSeller({ accessKey: KEY, port: 0 });
});
afterAll(async () => { await seller?.close(); await s?.close(); });

describe('traces and metrics', () => {
  it('one SaaS order is one trace, from POST /v1/orders to the seller\'s newInstance', async () => {
    const operator = await s.party('operator');
    const owner = await s.party('buyer');
    const merchantId = newId('M', 12);
    await s.db.insert(merchants).values({ id: merchantId, ownerPrincipalId: owner.id, status: 'active', onboardingApplicationId: 'MA-t', profile: { companyName: 'Traced' } });
    const sellerKey = (await s.party('seller', { merchantId })).key;
    const product = await s.call('POST', '/v1/products', { key: sellerKey, body: { name: 'Traced SaaS', deliveryType: 'saas', productionUrl: seller.url, accessKey: KEY, skus: [{ name: 'm', chargingMode: 'monthly', priceCents: 100 }] } });
    await s.call('POST', `/v1/products/${product.json.id}/on-sale`, { key: operator.key });
    const buyer = await s.party('buyer');
    await s.call('POST', `/v1/accounts/${buyer.id}/top-up`, { key: operator.key, body: { amountCents: 1000 } });
    const placed = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId: product.json.skus[0].id }] } });
    expect(placed.status).toBe(201);
    await eventually(() => s.call('GET', `/v1/orders/${placed.json.id}`, { key: buyer.key }), (r) => r.json.status === 'completed', 'delivery');

    const requestId = placed.headers.get('x-request-id');
    // The workflow's own span ends with the run, after the delivery is written (a monthly line also starts its subscription).
    const all = await eventually(async () => spans.getFinishedSpans(), (list) => ['seller newInstance', 'RunWorkflow:saasProvision'].every((n) => list.some((x) => x.name === n)), 'the seller and workflow spans');
    const http = all.find((x) => x.name === 'POST /v1/orders' && x.attributes['http.request_id'] === requestId);
    expect(http, 'the HTTP span of the order').toBeDefined();
    const traceId = http!.spanContext().traceId;
    const inTrace = all.filter((x) => x.spanContext().traceId === traceId).map((x) => x.name);
    expect(inTrace).toEqual(expect.arrayContaining(['POST /v1/orders', 'StartWorkflow:saasProvision', 'RunWorkflow:saasProvision', 'RunActivity:callNewInstance', 'seller newInstance']));
    const call = all.find((x) => x.name === 'seller newInstance' && x.spanContext().traceId === traceId)!;
    expect(call.attributes).toMatchObject({ 'seller.product_id': product.json.id, 'http.response.status_code': 200 });
  });

  it('serves the API\'s request metrics and the worker\'s task metrics on /metrics', async () => {
    const res = await fetch(`${s.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/marketplace_http_requests_total\{method="POST",route="\/v1\/orders",status="201"\} 1/);
    expect(text).toMatch(/marketplace_http_request_duration_seconds_bucket/);
    expect(text).toMatch(/^temporal_workflow_task_execution_latency\w*\{/m);
    expect(text).toMatch(/^temporal_activity_execution_latency\w*\{/m);
    expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
  });
});
