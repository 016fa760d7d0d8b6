import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app';
import { listen } from '../../api/edge';
import { merchants } from '../../db/schema';
import { newId } from '../../domain/ids';
import { startSystem, type System } from '../support/system';

let s: System;
let operator: { id: string; key: string };
let merchantId: string;
// A second API process on the same database, as in a deployment with several: it trusts a checked key for 1 s.
let other: Server;
let otherUrl: string;
beforeAll(async () => {
  s = await startSystem();
  operator = await s.party('operator');
  const owner = await s.party('buyer');
  merchantId = newId('M', 12);
  await s.db.insert(merchants).values({ id: merchantId, ownerPrincipalId: owner.id, status: 'active', onboardingApplicationId: 'MA-k', profile: { companyName: 'Keys Co' } });
  other = await listen(createApp({ db: s.db, temporal: s.env.client, config: { ...s.config, API_KEY_CACHE_MS: 1000 }, logger: pino({ level: 'silent' }) }), 0, '127.0.0.1');
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
});
afterAll(async () => { await new Promise((r) => other?.close(r)); await s?.close(); });

const onOther = async (key: string, path: string) => (await fetch(otherUrl + path, { headers: { authorization: `Bearer ${key}` } })).status;

describe('API keys over the API', () => {
  it('operators issue keys for every role; the key works at once and is shown only once', async () => {
    const buyer = await s.call('POST', '/v1/api-keys', { key: operator.key, body: { role: 'buyer', name: 'New buyer', email: 'nb@example.com' } });
    expect(buyer.status).toBe(201);
    expect(buyer.json).toMatchObject({ role: 'buyer', keyId: expect.stringMatching(/^K/), apiKey: expect.stringMatching(/^mk_K/) });
    expect((await s.call('GET', '/v1/account', { key: buyer.json.apiKey })).status).toBe(200);
    const op = await s.call('POST', '/v1/api-keys', { key: operator.key, body: { role: 'operator', name: 'Ops Wang', supervisor: true } });
    expect((await s.call('GET', '/v1/reviews', { key: op.json.apiKey })).status).toBe(200);
    const sel = await s.call('POST', '/v1/api-keys', { key: operator.key, body: { role: 'seller', name: 'Keys Co seller', merchantId } });
    expect(sel.json).toMatchObject({ role: 'seller', merchantId });
    expect((await s.call('POST', '/v1/api-keys', { key: operator.key, body: { role: 'seller', name: 'x', merchantId: 'MNOSUCHSELLER' } })).status).toBe(404);
    expect((await s.call('POST', '/v1/api-keys', { key: operator.key, body: { role: 'seller', name: 'x' } })).status).toBe(422);
    const listed = await s.call('GET', '/v1/api-keys', { key: operator.key });
    expect(listed.text).not.toContain((buyer.json.apiKey as string).slice(-43));
    expect(listed.json.items.map((k: { keyId: string }) => k.keyId)).toContain(buyer.json.keyId);
  });

  it('sellers issue seller keys for their own seller only; buyers issue none', async () => {
    const seller = await s.call('POST', '/v1/api-keys', { key: operator.key, body: { role: 'seller', name: 's', merchantId } });
    const more = await s.call('POST', '/v1/api-keys', { key: seller.json.apiKey, body: { role: 'seller', name: 'Second seller key' } });
    expect(more.status).toBe(201);
    expect(more.json.merchantId).toBe(merchantId);
    expect((await s.call('POST', '/v1/api-keys', { key: seller.json.apiKey, body: { role: 'operator', name: 'escalate' } })).status).toBe(403);
    expect((await s.call('POST', '/v1/api-keys', { key: seller.json.apiKey, body: { role: 'seller', name: 'x', merchantId: 'MOTHERSELLER01' } })).status).toBe(404);
    const buyer = await s.party('buyer');
    expect((await s.call('POST', '/v1/api-keys', { key: buyer.key, body: { role: 'buyer', name: 'x' } })).status).toBe(403);
    // A seller sees its seller's keys and nobody else's.
    const seen = (await s.call('GET', '/v1/api-keys', { key: more.json.apiKey })).json.items;
    expect(seen.every((k: { merchantId: string }) => k.merchantId === merchantId)).toBe(true);
  });

  it('a revoked key is refused at once on this process and within seconds on another', async () => {
    const issued = await s.call('POST', '/v1/api-keys', { key: operator.key, body: { role: 'buyer', name: 'Soon revoked' } });
    const key = issued.json.apiKey as string;
    expect((await s.call('GET', '/v1/account', { key })).status).toBe(200);
    expect(await onOther(key, '/v1/account')).toBe(200); // the other process now trusts it for a while
    const revoked = await s.call('POST', `/v1/api-keys/${issued.json.keyId}/revoke`, { key: operator.key });
    expect(revoked.json.revokedAt).toEqual(expect.any(String));
    const refused = await s.call('GET', '/v1/account', { key });
    expect(refused.status).toBe(401);
    expect(refused.json.detail).toMatch(/revoked/);
    let status = 200;
    for (let i = 0; i < 50 && status === 200; i++) { await new Promise((r) => setTimeout(r, 100)); status = await onOther(key, '/v1/account'); }
    expect(status).toBe(401);
  });

  it('anyone revokes their own key, nobody else\'s', async () => {
    const a = await s.party('buyer');
    const b = await s.party('buyer');
    const bKeyId = b.key.split('_')[1]!;
    expect((await s.call('POST', `/v1/api-keys/${bKeyId}/revoke`, { key: a.key })).status).toBe(404);
    expect((await s.call('GET', '/v1/account', { key: b.key })).status).toBe(200);
    expect((await s.call('POST', `/v1/api-keys/${bKeyId}/revoke`, { key: b.key })).status).toBe(200);
    expect((await s.call('GET', '/v1/account', { key: b.key })).status).toBe(401);
  });
});

describe('the leak check of the test system', () => {
  it('finds a secret put into a log line', async () => {
    const k = await s.party('buyer');
    s.logs.push(`an accident ${k.key}`);
    await expect(s.assertNoSecretsLeaked()).rejects.toThrow(/a secret shows in a log line/);
    s.logs.pop();
  });
});
