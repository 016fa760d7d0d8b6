import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bodyMac, bodySignHeader, canonicalPayload, signRequest, signature, verifyBodySign, verifyRequest,
} from '../../domain/saas-signing';

const AK = 'seller-access-key-0123456789';
const NOW = 1_680_508_066_618;
const body = { testFlag: '1', orderLineId: 'CS2211181819B4LVS-000001', activity: 'newInstance', businessId: 'b-1', orderId: 'CS2211181819B4LVS', memo: null };

describe('V2 production-interface signature', () => {
  it('signs the top-level-sorted, compact, null-free payload', () => {
    expect(canonicalPayload(body)).toBe('{"activity":"newInstance","businessId":"b-1","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}');
    expect(canonicalPayload({ b: { z: 1, a: null, m: [{ y: 2, x: 1 }] }, a: 'x' })).toBe('{"a":"x","b":{"m":[{"x":1,"y":2}],"z":1}}');
  });

  it('computes bodyMac and signature exactly as the spec writes them', () => {
    const payload = canonicalPayload(body);
    const mac = createHmac('sha256', AK).update(payload).digest('hex');
    expect(bodyMac(AK, payload)).toBe(mac);
    expect(mac).toBe(mac.toLowerCase());
    const nonce = 'A'.repeat(64);
    const expected = createHmac('sha256', AK).update(AK + nonce + String(NOW) + mac).digest('hex').toUpperCase();
    expect(signature(AK, payload, nonce, String(NOW))).toBe(expected);
    expect(signRequest(AK, body, NOW, nonce)).toEqual({ payload, query: { signature: expected, timestamp: String(NOW), nonce } });
  });

  it('uses a new 64-hex nonce per call', () => {
    const a = signRequest(AK, body, NOW).query.nonce;
    const b = signRequest(AK, body, NOW).query.nonce;
    expect(a).toMatch(/^[0-9A-F]{64}$/);
    expect(a).not.toBe(b);
  });

  it('verifies a good call, case-insensitively, within 60 s either way', () => {
    const { payload, query } = signRequest(AK, body, NOW);
    expect(verifyRequest(AK, payload, query, NOW + 60_000)).toEqual({ ok: true });
    expect(verifyRequest(AK, payload, { ...query, signature: query.signature.toLowerCase() }, NOW - 60_000)).toEqual({ ok: true });
  });

  it('refuses forged, tampered, stale and malformed calls', () => {
    const { payload, query } = signRequest(AK, body, NOW);
    expect(verifyRequest('another-key', payload, query, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyRequest(AK, payload.replace('b-1', 'b-2'), query, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyRequest(AK, payload, { ...query, nonce: 'B'.repeat(64) }, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyRequest(AK, payload, query, NOW + 60_001)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyRequest(AK, payload, { ...query, timestamp: String(NOW / 1000 | 0) }, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyRequest(AK, payload, { nonce: query.nonce, timestamp: query.timestamp }, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('writes and checks the Body-Sign response header over the raw bytes', () => {
    const raw = '{"resultCode":"000000","resultMsg":"ok","instanceId":"i-1"}\n';
    const header = bodySignHeader(AK, raw);
    expect(header).toMatch(/^sign_type="HMAC-SHA256", signature="[A-Za-z0-9+/=]+"$/);
    expect(verifyBodySign(AK, raw, header)).toBe(true);
    expect(verifyBodySign(AK, raw.trim(), header)).toBe(false);
    expect(verifyBodySign('another-key', raw, header)).toBe(false);
    expect(verifyBodySign(AK, raw, header.replace('HMAC-SHA256', 'HMAC-SHA1'))).toBe(false);
    expect(verifyBodySign(AK, raw, 'garbage')).toBe(false);
  });
});
