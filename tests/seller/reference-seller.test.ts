import { afterEach, describe, expect, it } from 'vitest';
import { signRequest, verifyBodySign, type SignedRequest } from '../../domain/saas-signing';
import { startReferenceSeller, type ReferenceSeller, type SellerOptions } from '../../seller/server';

const AK = 'reference-seller-key-0123456789';
const T0 = 1_700_000_000_000;

let clock = T0;
let seller: ReferenceSeller | undefined;

afterEach(async () => {
  await seller?.close();
  seller = undefined;
});

async function start(o: Partial<SellerOptions> = {}) {
  clock = T0;
  seller = await startReferenceSeller({ accessKey: AK, now: () => clock, ...o });
  return seller;
}

async function post(s: ReferenceSeller, req: SignedRequest) {
  const q = new URLSearchParams(req.query);
  const res = await fetch(`${s.url}?${q}`, { method: 'POST', headers: { 'Content-Type': 'application/json;charset=utf8' }, body: req.payload });
  const raw = await res.text();
  return { status: res.status, raw, json: JSON.parse(raw) as Record<string, unknown>, headers: res.headers };
}

/** Signs with the seller's key at the test clock unless told otherwise. */
const call = (s: ReferenceSeller, body: Record<string, string>, o: { key?: string; at?: number; nonce?: string } = {}) =>
  post(s, signRequest(o.key ?? AK, body, o.at ?? clock, o.nonce));

const newInstance = (line: string, businessId: string, extra: Record<string, string> = {}) =>
  ({ activity: 'newInstance', orderId: 'CS2211181819B4LVS', orderLineId: `CS2211181819B4LVS-${line}`, businessId, ...extra });

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
    clock += 2000;
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
    expect((await call(s, newInstance('000001', 'b'), { at: clock - 61_000 })).json).toEqual({ resultCode: '000001', resultMsg: 'stale' });
    expect(s.instances().size).toBe(0);

    const first = signRequest(AK, newInstance('000002', 'b2'), clock);
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
    s.faults.downUntil = clock + 5000;
    const down = await call(s, newInstance('000001', 'b'));
    expect(down.status).toBe(503);
    expect(s.instances().size).toBe(0);
    clock += 5000;
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
