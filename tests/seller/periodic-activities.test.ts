/**
 * The reference seller's periodic activities (spec §1.5.3–1.5.5): refreshInstance in its four
 * scenes, updateInstanceStatus FREEZE/UNFREEZE and releaseInstance, with the same signature,
 * timestamp, nonce and body checks as newInstance, and the calls kept for tests to assert.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { signRequest } from '../../domain/saas-signing';
import type { ReferenceSeller } from '../../seller/server';
import { AK, caller, newInstance, post, sellerHarness, T0 } from '../support/seller-calls';

const h = sellerHarness();
const call = caller(h);
afterEach(() => h.close());

const LINE = 'CS2211181819B4LVS-000001';
const renewal = { activity: 'refreshInstance', scene: 'RENEWAL', instanceId: 'biz-1', orderId: 'CS-RENEW', orderLineId: 'CS-RENEW-000001', expireTime: '20301124023618' };

async function withInstance(): Promise<ReferenceSeller> {
  const s = await h.start();
  expect((await call(s, newInstance('000001', 'biz-1'))).json.resultCode).toBe('000000');
  return s;
}

describe('refreshInstance', () => {
  it.each(['TRIAL_TO_FORMAL', 'RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'RENEWAL_CHANGE'])('accepts scene %s and takes the new expiry', async (scene) => {
    const s = await withInstance();
    h.clock += 1000;
    const r = await call(s, { ...renewal, scene, expireTime: '20311231160000' });
    expect(r.json).toEqual({ resultCode: '000000', resultMsg: 'success' });
    expect(s.instance('biz-1')).toMatchObject({ expireTime: '20311231160000' });
    expect(s.instance('biz-1')!.events).toEqual([
      { activity: 'refreshInstance', at: T0 + 1000, scene, orderId: 'CS-RENEW', orderLineId: 'CS-RENEW-000001', expireTime: '20311231160000' },
    ]);
    expect(s.accepted('refreshInstance')).toEqual([{ ...renewal, scene, expireTime: '20311231160000' }]);
  });

  it('keeps a new productId when the period type changed, and accepts the spec example with milliseconds', async () => {
    const s = await withInstance();
    await call(s, { ...renewal, productId: 'PROD-YEARLY', expireTime: '20221124023618256' });
    expect(s.instance('biz-1')).toMatchObject({ productId: 'PROD-YEARLY', expireTime: '20221124023618256' });
  });

  it.each([
    ['an unknown scene', { scene: 'RENEW' }, 'scene'],
    ['a missing orderId', { orderId: undefined }, 'orderId'],
    ['a missing orderLineId', { orderLineId: undefined }, 'orderLineId'],
    ['a missing expireTime', { expireTime: undefined }, 'expireTime'],
    ['an ISO expireTime', { expireTime: '2030-11-24T02:36:18Z' }, 'expireTime: expected yyyyMMddHHmmss (UTC)'],
    ['a 12-digit expireTime', { expireTime: '203011240236' }, 'expireTime: expected yyyyMMddHHmmss (UTC)'],
    ['a 31 February', { expireTime: '20300231000000' }, 'expireTime: not a real UTC date and time'],
    ['hour 24', { expireTime: '20301124240000' }, 'expireTime: not a real UTC date and time'],
    ['an orderId over 64 characters', { orderId: 'O'.repeat(65) }, 'orderId'],
  ])('answers 000002 to %s and changes nothing', async (_, change, msg) => {
    const s = await withInstance();
    const body = Object.fromEntries(Object.entries({ ...renewal, ...change }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const r = await call(s, body);
    expect(r.json.resultCode).toBe('000002');
    expect(r.json.resultMsg).toContain(msg);
    expect(s.instance('biz-1')).toMatchObject({ events: [] });
    expect(s.instance('biz-1')!.expireTime).toBeUndefined();
    expect(s.accepted('refreshInstance')).toEqual([]);
  });

  it('answers 000003 for an unknown or released instance', async () => {
    const s = await withInstance();
    expect((await call(s, { ...renewal, instanceId: 'nope' })).json).toEqual({ resultCode: '000003', resultMsg: 'instance does not exist' });
    await call(s, { activity: 'releaseInstance', instanceId: 'biz-1' });
    expect((await call(s, renewal)).json.resultCode).toBe('000003');
    expect(s.instance('biz-1')!.expireTime).toBeUndefined();
  });
});

describe('updateInstanceStatus', () => {
  it('freezes and unfreezes, each idempotently, recording every call', async () => {
    const s = await withInstance();
    const status = (st: string) => call(s, { activity: 'updateInstanceStatus', instanceId: 'biz-1', status: st });
    expect((await status('FREEZE')).json).toEqual({ resultCode: '000000', resultMsg: 'success' });
    expect(s.instances().get(LINE)!.frozen).toBe(true);
    expect((await status('FREEZE')).json.resultCode).toBe('000000');
    expect(s.instances().get(LINE)!.frozen).toBe(true);
    expect((await status('UNFREEZE')).json.resultCode).toBe('000000');
    expect(s.instances().get(LINE)!.frozen).toBe(false);
    expect(s.instance('biz-1')!.events.map((e) => e.activity === 'updateInstanceStatus' && e.status)).toEqual(['FREEZE', 'FREEZE', 'UNFREEZE']);
    expect(s.accepted('updateInstanceStatus').map((b) => b.status)).toEqual(['FREEZE', 'FREEZE', 'UNFREEZE']);
  });

  it('answers 000002 to another status or no instanceId, 000003 to an unknown instance', async () => {
    const s = await withInstance();
    expect((await call(s, { activity: 'updateInstanceStatus', instanceId: 'biz-1', status: 'SUSPEND' })).json.resultCode).toBe('000002');
    expect((await call(s, { activity: 'updateInstanceStatus', instanceId: 'biz-1', status: 'freeze' })).json.resultCode).toBe('000002');
    expect((await call(s, { activity: 'updateInstanceStatus', status: 'FREEZE' })).json.resultCode).toBe('000002');
    expect((await call(s, { activity: 'updateInstanceStatus', instanceId: 'nope', status: 'FREEZE' })).json.resultCode).toBe('000003');
    expect(s.instance('biz-1')).toMatchObject({ frozen: false, events: [] });
  });
});

describe('releaseInstance', () => {
  it('releases, and a repeated release is still a success; queryInstance then leaves the instance out', async () => {
    const s = await withInstance();
    const release = { activity: 'releaseInstance', instanceId: 'biz-1', orderId: 'CS-UNSUB', orderLineId: 'CS-UNSUB-000001' };
    expect((await call(s, release)).json).toEqual({ resultCode: '000000', resultMsg: 'success' });
    h.clock += 5;
    expect((await call(s, { activity: 'releaseInstance', instanceId: 'biz-1' })).json).toEqual({ resultCode: '000000', resultMsg: 'success' });
    expect(s.instance('biz-1')!.released).toBe(true);
    expect(s.instance('biz-1')!.events).toEqual([
      { activity: 'releaseInstance', at: T0, orderId: 'CS-UNSUB', orderLineId: 'CS-UNSUB-000001', repeated: false },
      { activity: 'releaseInstance', at: T0 + 5, repeated: true },
    ]);
    expect((await call(s, { activity: 'queryInstance', instanceId: 'biz-1' })).json.info).toEqual([]);
    expect((await call(s, { activity: 'updateInstanceStatus', instanceId: 'biz-1', status: 'UNFREEZE' })).json.resultCode).toBe('000003');
  });

  it('answers 000003 for an instance it never had and 000002 without an instanceId', async () => {
    const s = await withInstance();
    expect((await call(s, { activity: 'releaseInstance', instanceId: 'nope' })).json.resultCode).toBe('000003');
    expect((await call(s, { activity: 'releaseInstance' })).json.resultCode).toBe('000002');
    expect(s.instance('biz-1')!.released).toBe(false);
  });
});

describe('the periodic activities are authenticated like newInstance', () => {
  const bodies: Record<string, string>[] = [
    renewal,
    { activity: 'updateInstanceStatus', instanceId: 'biz-1', status: 'FREEZE' },
    { activity: 'releaseInstance', instanceId: 'biz-1' },
  ];

  it.each(bodies.map((b) => [b.activity, b] as const))('%s: a forged signature, a stale or future timestamp, a replayed nonce and a tampered body are refused with 000001 and change nothing', async (_, body) => {
    const s = await withInstance();
    expect((await call(s, body, { key: 'another-key' })).json).toEqual({ resultCode: '000001', resultMsg: 'bad-signature' });
    expect((await call(s, body, { at: h.clock - 60_001 })).json).toEqual({ resultCode: '000001', resultMsg: 'stale' });
    expect((await call(s, body, { at: h.clock + 60_001 })).json).toEqual({ resultCode: '000001', resultMsg: 'stale' });
    const used = signRequest(AK, newInstance('000002', 'biz-2'), h.clock);
    await post(s, used);
    expect((await call(s, body, { nonce: used.query.nonce })).json).toEqual({ resultCode: '000001', resultMsg: 'replayed' });
    const signed = signRequest(AK, { ...body, instanceId: 'biz-2' }, h.clock);
    expect((await post(s, { ...signed, payload: signed.payload.replace('biz-2', 'biz-1') })).json).toEqual({ resultCode: '000001', resultMsg: 'bad-signature' });
    const unsigned = await fetch(s.url, { method: 'POST', body: JSON.stringify(body) });
    expect(await unsigned.json()).toEqual({ resultCode: '000001', resultMsg: 'malformed' });
    expect(s.instance('biz-1')).toMatchObject({ frozen: false, released: false, events: [] });
    expect(s.instance('biz-1')!.expireTime).toBeUndefined();
    expect(s.accepted(body.activity!)).toEqual([]);
    // Within 60 s either way the same call is accepted.
    expect((await call(s, body, { at: h.clock - 59_000 })).json.resultCode).toBe('000000');
    expect(s.accepted(body.activity!)).toEqual([body]);
  });
});
