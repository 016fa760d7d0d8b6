import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OPEN_API_HEADERS, verifyOpenApiCall } from '../../domain/open-api-signing';
import { signPayload, signRequest, verifyBodySign } from '../../domain/saas-signing';
import { describeFaults, parseFaultArgs } from '../../seller/faults';
import type { SellerOptions } from '../../seller/server';
import { AK, caller, newInstance, post, sellerHarness, T0 } from '../support/seller-calls';

const h = sellerHarness();
const call = caller(h);
let marketplace: FakeMarketplace | undefined;

afterEach(async () => {
  await h.close();
  await marketplace?.close();
  marketplace = undefined;
});

const start = (o: Partial<SellerOptions> = {}) => h.start(o);

describe('reference seller: newInstance', () => {
  it('provisions synchronously, naming the instance after the first businessId', async () => {
    const s = await start();
    const r = await call(s, newInstance('000001', 'biz-1'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json;charset=utf-8');
    expect(r.json).toEqual({ resultCode: '000000', resultMsg: 'success', instanceId: 'biz-1' });
    expect(s.instances().get('CS2211181819B4LVS-000001')).toMatchObject({ instanceId: 'biz-1', test: false });
    expect(s.received).toMatchObject([{ activity: 'newInstance', verdict: 'ok', resultCode: '000000', httpStatus: 200, at: T0 }]);
  });

  it('is idempotent per order line: a resend with a new businessId gets the same instance', async () => {
    const s = await start();
    await call(s, newInstance('000001', 'biz-1'));
    const again = await call(s, newInstance('000001', 'biz-2'));
    expect(again.json).toMatchObject({ resultCode: '000000', instanceId: 'biz-1' });
    expect(s.instances().size).toBe(1);
  });

  it('marks testFlag=1 instances as debug instances', async () => {
    const s = await start();
    await call(s, newInstance('000001', 'biz-1', { testFlag: '1' }));
    expect(s.instances().get('CS2211181819B4LVS-000001')?.test).toBe(true);
  });

  it('answers 000004 in async mode and shows the instance only after the delay', async () => {
    const s = await start({ mode: 'async', asyncDelayMs: 2000 });
    expect((await call(s, newInstance('000001', 'biz-1'))).json).toMatchObject({ resultCode: '000004', instanceId: 'biz-1' });
    const query = () => call(s, { activity: 'queryInstance', instanceId: 'biz-1,unknown' });
    expect((await query()).json).toEqual({ resultCode: '000000', resultMsg: 'success', info: [] });
    h.clock += 2000;
    expect((await query()).json.info).toEqual([{
      instanceId: 'biz-1',
      appInfo: { frontEndUrl: 'https://app.example.com/i/biz-1', adminUrl: expect.any(String), userName: expect.any(String), password: expect.any(String) },
    }]);
  });
});

describe('reference seller: refusals', () => {
  it('refuses a forged signature, a stale timestamp and a replayed nonce with 000001, creating nothing', async () => {
    const s = await start();
    expect((await call(s, newInstance('000001', 'b'), { key: 'another-key' })).json).toEqual({ resultCode: '000001', resultMsg: 'bad-signature' });
    expect((await call(s, newInstance('000001', 'b'), { at: h.clock - 61_000 })).json).toEqual({ resultCode: '000001', resultMsg: 'stale' });
    expect(s.instances().size).toBe(0);

    const first = signRequest(AK, newInstance('000002', 'b2'), h.clock);
    expect((await post(s, first)).json.resultCode).toBe('000000');
    expect((await post(s, first)).json).toEqual({ resultCode: '000001', resultMsg: 'replayed' });
    // A properly signed call for another order line that reuses the nonce is a replay too.
    expect((await call(s, newInstance('000003', 'b3'), { nonce: first.query.nonce })).json.resultMsg).toBe('replayed');
    expect([...s.instances().keys()]).toEqual(['CS2211181819B4LVS-000002']);
    expect(s.received.map((c) => c.verdict)).toEqual(['bad-signature', 'stale', 'ok', 'replayed', 'replayed']);
  });

  it('answers 000002 to a body that is not JSON and 404/405 off the interface', async () => {
    const s = await start();
    const bad = await fetch(s.url, { method: 'POST', body: '{nope' });
    expect([bad.status, await bad.json()]).toEqual([200, { resultCode: '000002', resultMsg: 'body is not a JSON object' }]);
    expect((await fetch(s.url.replace('/saasproduce', '/other'), { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(s.url)).status).toBe(405);
    expect(s.received.map((c) => [c.verdict, c.httpStatus])).toEqual([['malformed', 200], ['malformed', 404], ['malformed', 405]]);
  });

  it('refuses queryInstance with more than 100 ids', async () => {
    const s = await start();
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `id-${i}`).join(',');
    expect((await call(s, { activity: 'queryInstance', instanceId: ids(101) })).json.resultCode).toBe('000002');
    expect((await call(s, { activity: 'queryInstance', instanceId: ids(100) })).json.resultCode).toBe('000000');
  });
});

describe('reference seller: instance lifecycle', () => {
  it('refreshes, freezes, upgrades and releases (repeatably); 000003 for an unknown instance', async () => {
    const s = await start();
    await call(s, newInstance('000001', 'biz-1'));
    const on = { instanceId: 'biz-1', orderId: 'CS-R', orderLineId: 'CS-R-000001' };
    expect((await call(s, { activity: 'refreshInstance', scene: 'RENEWAL', expireTime: '20301124023618', ...on })).json.resultCode).toBe('000000');
    expect((await call(s, { activity: 'updateInstanceStatus', instanceId: 'biz-1', status: 'FREEZE' })).json.resultCode).toBe('000000');
    expect((await call(s, { activity: 'upgradeInstance', skuCode: 'sku-pro', ...on })).json.resultCode).toBe('000000');
    expect(s.instances().get('CS2211181819B4LVS-000001')).toMatchObject({ expireTime: '20301124023618', frozen: true, skuCode: 'sku-pro', upgradeOrderIds: ['CS-R'] });
    for (let i = 0; i < 2; i++) expect((await call(s, { activity: 'releaseInstance', instanceId: 'biz-1' })).json.resultCode).toBe('000000');
    expect(s.instances().get('CS2211181819B4LVS-000001')?.released).toBe(true);
    expect((await call(s, { activity: 'releaseInstance', instanceId: 'nope' })).json).toEqual({ resultCode: '000003', resultMsg: 'instance does not exist' });
  });
});

describe('reference seller: faults and response signing', () => {
  it('answers 503 until downUntil', async () => {
    const s = await start();
    s.faults.downUntil = h.clock + 5000;
    const down = await call(s, newInstance('000001', 'b'));
    expect(down.status).toBe(503);
    expect(s.instances().size).toBe(0);
    h.clock += 5000;
    expect((await call(s, newInstance('000001', 'b'))).status).toBe(200);
    expect(s.received.map((c) => c.httpStatus)).toEqual([503, 200]);
  });

  it('delays every answer by slowMs', async () => {
    const s = await start();
    s.faults.slowMs = 150;
    const t = performance.now();
    await call(s, newInstance('000001', 'b1'));
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
  });

  it('answers a queued result code once, creating nothing for it', async () => {
    const s = await start();
    s.faults.resultCodes = ['000106'];
    expect((await call(s, newInstance('000001', 'b1'))).json).toEqual({ resultCode: '000106', resultMsg: 'injected fault' });
    expect(s.instances().size).toBe(0);
    expect((await call(s, newInstance('000001', 'b2'))).json).toMatchObject({ resultCode: '000000', instanceId: 'b2' });
  });

  it('answers instanceIdOverride even for an existing order line', async () => {
    const s = await start();
    await call(s, newInstance('000001', 'b1'));
    s.faults.instanceIdOverride = 'someone-else';
    expect((await call(s, newInstance('000001', 'b2'))).json.instanceId).toBe('someone-else');
    expect(s.instances().size).toBe(1);
  });

  it('signs responses with Body-Sign over the raw body, unless told not to', async () => {
    const s = await start();
    const r = await call(s, newInstance('000001', 'b1'));
    expect(verifyBodySign(AK, r.raw, r.headers.get('body-sign') ?? '')).toBe(true);
    expect(verifyBodySign('another-key', r.raw, r.headers.get('body-sign') ?? '')).toBe(false);
    await s.close();
    const quiet = await start({ signResponses: false });
    expect((await call(quiet, newInstance('000001', 'b1'))).headers.get('body-sign')).toBeNull();
  });
});

const QUERY_ORDER_PATH = '/api/mkp-openapi-public/global/v1/order/query';
const KEY_ID = 'PR0123456789ABCD';

interface FakeMarketplace {
  baseUrl: string;
  /** Every call it got, with whether the four open API headers were there and the signature verified. */
  calls: { query: Record<string, string>; headersPresent: boolean; verdict: string }[];
  close(): Promise<void>;
}

/** Answers Query Order for the order lines it knows (200 with orderInfo), 404 for the rest; 401 when the signature fails. */
async function startFakeMarketplace(knownLines: string[]): Promise<FakeMarketplace> {
  const calls: FakeMarketplace['calls'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://marketplace.invalid');
    const query = Object.fromEntries(url.searchParams);
    const h = (name: string) => req.headers[name] as string | undefined;
    const headersPresent = Object.values(OPEN_API_HEADERS).every((name) => !!h(name));
    const v = verifyOpenApiCall(AK, req.method ?? '', url.pathname, query,
      { timestamp: h(OPEN_API_HEADERS.timestamp), nonce: h(OPEN_API_HEADERS.nonce), signature: h(OPEN_API_HEADERS.signature) }, Date.now());
    calls.push({ query, headersPresent, verdict: v.ok ? 'ok' : v.reason });
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname !== QUERY_ORDER_PATH || req.method !== 'GET') return reply(404, { resultCode: '000002', resultMsg: 'not found' });
    if (!headersPresent || h(OPEN_API_HEADERS.keyId) !== KEY_ID || !v.ok) return reply(401, { resultCode: '000001', resultMsg: 'unauthorized' });
    const { orderId, orderLineId } = query;
    if (!orderId || !orderLineId || !knownLines.includes(orderLineId)) return reply(404, { resultCode: '000003', resultMsg: 'no such order line' });
    return reply(200, { resultCode: '000000', resultMsg: 'success', orderInfo: { orderId, orderLine: [{ orderLineId, productInfo: [] }] } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

describe('reference seller: confirming new order lines with Query Order', () => {
  const LINE = 'CS2211181819B4LVS-000001';

  async function startBoth(knownLines = [LINE]) {
    marketplace = await startFakeMarketplace(knownLines);
    return start({ queryOrder: { baseUrl: marketplace.baseUrl, keyId: KEY_ID } });
  }

  it('calls Query Order once, signed, for a new line and provisions it; a resend of the line calls nothing', async () => {
    const s = await startBoth();
    expect((await call(s, newInstance('000001', 'biz-1'))).json).toEqual({ resultCode: '000000', resultMsg: 'success', instanceId: 'biz-1' });
    expect(marketplace!.calls).toEqual([{ query: { orderId: 'CS2211181819B4LVS', orderLineId: LINE }, headersPresent: true, verdict: 'ok' }]);
    expect(s.queryOrderCalls).toEqual([{ orderId: 'CS2211181819B4LVS', orderLineId: LINE, httpStatus: 200, ok: true }]);

    expect((await call(s, newInstance('000001', 'biz-2'))).json).toMatchObject({ resultCode: '000000', instanceId: 'biz-1' });
    expect(marketplace!.calls).toHaveLength(1);
    expect(s.queryOrderCalls).toHaveLength(1);
  });

  it('does not call Query Order for testFlag=1 debug calls or for other activities', async () => {
    const s = await startBoth([]);
    expect((await call(s, newInstance('000009', 'biz-9', { testFlag: '1' }))).json.resultCode).toBe('000000');
    expect((await call(s, { activity: 'queryInstance', instanceId: 'biz-9' })).json.resultCode).toBe('000000');
    expect(marketplace!.calls).toEqual([]);
    expect(s.queryOrderCalls).toEqual([]);
  });

  it('answers 000005 and creates nothing for a line the marketplace does not know', async () => {
    const s = await startBoth();
    const r = await call(s, newInstance('000002', 'biz-2'));
    expect(r.json).toEqual({ resultCode: '000005', resultMsg: 'could not confirm the order with Query Order: HTTP 404' });
    expect(s.instances().size).toBe(0);
    expect(s.queryOrderCalls).toEqual([{ orderId: 'CS2211181819B4LVS', orderLineId: 'CS2211181819B4LVS-000002', httpStatus: 404, ok: false, error: 'HTTP 404' }]);
    expect(s.received.map((c) => c.resultCode)).toEqual(['000005']);
  });

  it('answers 000005 while the marketplace is down, and provisions on the retry once it confirms', async () => {
    const s = await startBoth();
    await marketplace!.close();
    const r = await call(s, newInstance('000001', 'biz-1'));
    expect(r.json.resultCode).toBe('000005');
    expect(r.json.resultMsg).toBe('could not confirm the order with Query Order: ECONNREFUSED');
    expect(s.instances().size).toBe(0);
    expect(s.queryOrderCalls).toEqual([{ orderId: 'CS2211181819B4LVS', orderLineId: LINE, ok: false, error: 'ECONNREFUSED' }]);

    marketplace = await startFakeMarketplace([LINE]);
    s.setQueryOrder({ baseUrl: marketplace.baseUrl, keyId: KEY_ID });
    expect((await call(s, newInstance('000001', 'biz-2'))).json).toMatchObject({ resultCode: '000000', instanceId: 'biz-2' });
    expect(s.queryOrderCalls.map((c) => c.ok)).toEqual([false, true]);
  });

  it('refuses an answer that names another order or leaves the line out', async () => {
    // A marketplace that answers 200/000000 but names another order for line 000001 and lists no lines for 000002.
    const liar = createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://marketplace.invalid').searchParams;
      const orderInfo = q.get('orderLineId')?.endsWith('000001')
        ? { orderId: 'CS-SOMEONE-ELSE', orderLine: [{ orderLineId: q.get('orderLineId') }] }
        : { orderId: q.get('orderId'), orderLine: [] };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ resultCode: '000000', resultMsg: 'success', orderInfo }));
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    try {
      const s = await start({ queryOrder: { baseUrl: `http://127.0.0.1:${(liar.address() as AddressInfo).port}`, keyId: KEY_ID } });
      expect((await call(s, newInstance('000001', 'biz-1'))).json).toEqual({
        resultCode: '000005', resultMsg: 'could not confirm the order with Query Order: orderInfo.orderId is CS-SOMEONE-ELSE',
      });
      expect((await call(s, newInstance('000002', 'biz-2'))).json).toEqual({
        resultCode: '000005', resultMsg: 'could not confirm the order with Query Order: order line CS2211181819B4LVS-000002 is not in orderInfo.orderLine',
      });
      expect(s.instances().size).toBe(0);
      expect(s.queryOrderCalls.map((c) => [c.httpStatus, c.ok])).toEqual([[200, false], [200, false]]);
    } finally {
      await new Promise<void>((resolve) => { liar.close(() => resolve()); liar.closeAllConnections(); });
    }
  });
});

describe('reference seller: fault switches', () => {
  it('parses the command-line switches and refuses unknown ones or a bad number', () => {
    expect(parseFaultArgs(['--no-nonce-check', '--slow', '250', '--release-once'])).toEqual({ noNonceCheck: true, slowMs: 250, releaseOnce: true });
    expect(describeFaults({ noNonceCheck: true, slowMs: 250 })).toEqual(['--no-nonce-check', '--slow 250']);
    expect(() => parseFaultArgs(['--no-such-fault'])).toThrow(/no-such-fault/);
    expect(() => parseFaultArgs(['--slow', 'fast'])).toThrow('--slow takes a number of milliseconds, got fast');
  });

  it('verifies the raw bytes: an equivalent body in another layout passes unless the seller re-serializes', async () => {
    const s = await start();
    const layout = '{ "orderLineId": "L-1", "orderId": "O-1", "businessId": "b\\u002d1", "activity": "newInstance" }';
    expect((await post(s, signPayload(AK, layout, h.clock))).json).toMatchObject({ resultCode: '000000', instanceId: 'b-1' });
    s.setFaults({ reserializedSignature: true });
    expect((await post(s, signPayload(AK, layout.replace('L-1', 'L-2'), h.clock))).json).toEqual({ resultCode: '000001', resultMsg: 'bad-signature' });
    s.setFaults({});
    expect(s.faults).toEqual({});
  });

  it('starts with the switches it is given and changes them while it runs', async () => {
    const s = await start({ faults: { noNonceCheck: true } });
    const req = signRequest(AK, newInstance('000001', 'b1'), h.clock);
    expect((await post(s, req)).json.resultCode).toBe('000000');
    expect((await post(s, req)).json.resultCode).toBe('000000');
    // Switched back on, it remembers nonces from now: the next use counts, the one after is a replay.
    s.faults.noNonceCheck = false;
    expect((await post(s, req)).json.resultCode).toBe('000000');
    expect((await post(s, req)).json).toEqual({ resultCode: '000001', resultMsg: 'replayed' });
  });
});
