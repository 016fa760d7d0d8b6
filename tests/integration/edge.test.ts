import { request } from 'node:http';
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarDays, merchantApplications, merchants, products } from '../../db/schema';
import { newId } from '../../domain/ids';
import { applicationInput } from '../support/fixtures';
import { startSystem, type System } from '../support/system';

let s: System;
let operator: { id: string; key: string };
let buyer: { id: string; key: string };
let seller: { id: string; key: string };
let merchantId: string;
beforeAll(async () => {
  s = await startSystem();
  operator = await s.party('operator');
  buyer = await s.party('buyer');
  merchantId = newId('M', 12);
  await s.db.insert(merchants).values({ id: merchantId, ownerPrincipalId: buyer.id, status: 'active', onboardingApplicationId: 'MA-seed', profile: { companyName: 'Seller' } });
  seller = await s.party('seller', { merchantId });
});
afterAll(async () => s?.close());

const rows = async () => ({
  applications: (await s.db.select({ n: count() }).from(merchantApplications))[0]!.n,
  products: (await s.db.select({ n: count() }).from(products))[0]!.n,
  days: (await s.db.select({ n: count() }).from(calendarDays))[0]!.n,
});

/** A raw HTTP request, for what fetch will not send (TRACE, huge headers, odd content types). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const url = new URL(s.baseUrl + path);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json; try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode!, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const expectProblem = (r: { status: number; type?: string; headers: Headers | Record<string, unknown>; json: any }, status: number, title?: string) => { // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(r.status).toBe(status);
  const type = r.headers instanceof Headers ? r.headers.get('content-type') : r.headers['content-type'];
  expect(String(type)).toContain('application/problem+json');
  expect(r.json).toMatchObject({ status, ...(title ? { title } : {}), requestId: expect.any(String) });
  const id = r.headers instanceof Headers ? r.headers.get('x-request-id') : r.headers['x-request-id'];
  expect(r.json.requestId).toBe(id);
};

describe('the HTTP edge', () => {
  it('refuses NUL and lone surrogates in every kind of string field with 400, and writes nothing', async () => {
    const before = await rows();
    for (const bad of ['a\u0000b', 'a\ud800b', 'a\udc00']) {
      const cases = [
        // top-level body string, nested object string, array element, object key, a field no schema names
        ['POST', '/v1/merchant-applications', buyer.key, applicationInput({ companyName: bad })],
        ['POST', '/v1/merchant-applications', buyer.key, applicationInput({ financeContact: { name: bad, phone: '+8613800000000', email: 'f@x.example.com' } })],
        ['POST', '/v1/products', seller.key, { name: 'P', deliveryType: 'license', skus: [{ name: bad, chargingMode: 'one_time', priceCents: 1 }] }],
        ['POST', '/v1/products', seller.key, { name: 'P', deliveryType: 'license', skus: [{ name: 'x', chargingMode: 'one_time', priceCents: 1, [bad]: 1 }] }],
        ['PUT', '/v1/calendar/2031-01-02', operator.key, { kind: 'holiday', name: bad }],
        ['POST', `/v1/merchants/${merchantId}/changes`, seller.key, { business: { address: bad } }],
        ['POST', '/v1/products', seller.key, { name: 'Q', deliveryType: 'saas', productionUrl: 'https://seller.example.com/x', accessKey: `0123456789abcdef${bad}`, skus: [{ name: 'x', chargingMode: 'one_time', priceCents: 1 }] }],
      ] as const;
      for (const [method, path, key, body] of cases) {
        const r = await s.call(method, path, { key, body });
        expectProblem(r, 400);
        expect(r.json.detail).toMatch(/cannot be stored/);
      }
    }
    // Query and path: percent-encoded NUL (a lone surrogate has no UTF-8 form to send there).
    const nul = await s.call('GET', '/v1/calendar?from=2026-01-01%00', { key: operator.key });
    expectProblem(nul, 400);
    expect(nul.json.errors[0].field).toBe('query.from');
    expectProblem(await s.call('GET', '/v1/interface-messages?orderLineId=%00', { key: operator.key }), 400);
    expect((await s.call('DELETE', '/v1/calendar/2026-01-01%00', { key: operator.key })).json.errors[0].field).toBe('path.date');
    expect(await rows()).toEqual(before);
  });

  it('checks the media type before reading a body: 415 for text, forms, XML and a missing Content-Type', async () => {
    const body = JSON.stringify(applicationInput());
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', undefined]) {
      const r = await raw('POST', '/v1/merchant-applications', { authorization: `Bearer ${buyer.key}`, ...(type ? { 'content-type': type } : {}) }, body);
      expectProblem(r, 415, 'Unsupported Media Type');
    }
    expect((await rows()).applications).toBe(0);
    // application/json with a charset and +json types are JSON.
    const ok = await raw('PUT', '/v1/calendar/2031-01-03', { authorization: `Bearer ${operator.key}`, 'content-type': 'application/merge-patch+json; charset=utf-8' }, JSON.stringify({ kind: 'holiday', name: 'x' }));
    expect(ok.status).toBe(200);
  });

  it('authenticates before it reads a body: no key with a bad or huge body is 401', async () => {
    expectProblem(await raw('POST', '/v1/merchant-applications', { 'content-type': 'application/json' }, '{not json'), 401, 'Unauthorized');
    expectProblem(await raw('POST', '/v1/merchant-applications', { 'content-type': 'application/json' }, Buffer.alloc(5 * 1024 * 1024, 0x20)), 401);
    expectProblem(await raw('POST', '/v1/merchant-applications', { authorization: 'Bearer nope', 'content-type': 'text/plain' }, 'x'), 401);
    // A wrong role is refused before the body too.
    expectProblem(await raw('POST', '/v1/merchant-applications', { authorization: `Bearer ${operator.key}`, 'content-type': 'application/json' }, '{not json'), 403);
    expectProblem(await raw('POST', '/v1/merchant-applications', { authorization: `Bearer ${buyer.key}`, 'content-type': 'application/json' }, '{not json'), 400);
    expectProblem(await raw('POST', '/v1/merchant-applications', { authorization: `Bearer ${buyer.key}`, 'content-type': 'application/json' }, Buffer.alloc(300 * 1024, 0x20)), 413, 'Content Too Large');
  });

  it('takes the auth scheme in any case', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      expect((await raw('GET', '/v1/account', { authorization: `${scheme} ${buyer.key}` })).status).toBe(200);
    }
  });

  it('answers undeclared methods with 405 and Allow, and oversized headers with a problem', async () => {
    const trace = await raw('TRACE', '/v1/orders', { authorization: `Bearer ${buyer.key}` });
    expectProblem(trace, 405, 'Method Not Allowed');
    expect(String(trace.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    const del = await raw('DELETE', '/v1/products/PR0000000001', { authorization: `Bearer ${buyer.key}` });
    expect(del.status).toBe(405);
    expect(String(del.headers.allow)).toBe('GET, HEAD');
    expectProblem(await raw('GET', '/v1/nothing-here', { authorization: `Bearer ${buyer.key}` }), 404);
    const big = await raw('GET', '/v1/account', { authorization: `Bearer ${buyer.key}`, 'x-filler': 'x'.repeat(20_000) });
    expect(big.status).toBe(431);
    expect(String(big.headers['content-type'])).toContain('application/problem+json');
    expect(big.json).toMatchObject({ status: 431, title: 'Request Header Fields Too Large', requestId: big.headers['x-request-id'] });
  });

  it('takes no body where the document says the body may be left out, and refuses a missing required one', async () => {
    const [p] = await s.db.insert(products).values({ id: newId('PR', 12), merchantId, name: 'x', deliveryType: 'license', tradingFrozen: true }).returning();
    const doc = (await s.call('GET', '/openapi.json')).json;
    expect(doc.paths['/v1/products/{id}/unfreeze'].post.requestBody.required).toBe(false);
    expect(doc.paths['/v1/merchant-applications'].post.requestBody.required).toBe(true);
    const r = await raw('POST', `/v1/products/${p!.id}/unfreeze`, { authorization: `Bearer ${operator.key}` });
    expect(r.status).toBe(200);
    expect(r.json.tradingFrozen).toBe(false);
    expectProblem(await raw('POST', '/v1/merchant-applications', { authorization: `Bearer ${buyer.key}` }), 400);
  });

  it('states in the document what it checks: blank text, real dates, e-mail syntax', async () => {
    const doc = (await s.call('GET', '/openapi.json')).json;
    const input = doc.components.schemas.MerchantApplicationInput.properties;
    for (const blank of ['\r', ' ', '\u3000']) {
      expect(new RegExp(input.companyName.pattern, 'u').test(blank)).toBe(false);
      expectProblem(await s.call('POST', '/v1/merchant-applications', { key: buyer.key, body: applicationInput({ companyName: blank }) }), 400);
    }
    expect(input.contactEmail).toMatchObject({ pattern: expect.any(String), maxLength: 254 });
    expect(doc.paths['/v1/calendar/{date}'].put.parameters[0].schema).toMatchObject({ format: 'date' });
    expectProblem(await s.call('PUT', '/v1/calendar/7991-04-31', { key: operator.key, body: { kind: 'holiday', name: 'x' } }), 400);
    expect(doc.components.schemas.MerchantChangeInput.minProperties).toBe(1);
    // A trimmed value is stored trimmed.
    const ok = await s.call('PUT', '/v1/calendar/2031-01-04', { key: operator.key, body: { kind: 'holiday', name: '  Padded  ' } });
    expect(ok.json.name).toBe('Padded');
  });
});
