import { execFile } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { SellerOptions } from '../../seller/server';
import { AK, caller, newInstance, sellerHarness } from '../support/seller-calls';
import { ROOT } from '../support/make-start';

const h = sellerHarness();
const call = caller(h);
afterEach(async () => { await h.close(); });
const start = (o: Partial<SellerOptions> = {}) => h.start({ admin: true, ...o });

async function admin(s: { url: string }, method: string, body?: unknown, key = AK) {
  const res = await fetch(s.url.replace('/saasproduce', '/_admin/faults'), {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}

describe('reference seller: fault switches at run time (/_admin/faults)', () => {
  it('switches an outage, result codes and async mode on and off while it runs', async () => {
    const s = await start();
    expect(await admin(s, 'GET')).toEqual({ status: 200, json: { mode: 'sync' } });

    expect((await admin(s, 'PUT', { downForSeconds: 60 })).json).toMatchObject({ mode: 'sync', downForSeconds: 60 });
    expect((await call(s, newInstance('000001', 'b1'))).status).toBe(503);
    h.clock += 60_000;
    expect((await call(s, newInstance('000001', 'b1'))).json.resultCode).toBe('000000');

    // A PUT sets exactly what it names: the outage is over, two codes queue up, then async.
    expect((await admin(s, 'PUT', { resultCodes: ['000005', '000101'], mode: 'async' })).json).toEqual({ mode: 'async', resultCodes: ['000005', '000101'] });
    expect((await call(s, newInstance('000002', 'b2'))).json.resultCode).toBe('000005');
    expect((await call(s, newInstance('000002', 'b2'))).json.resultCode).toBe('000101');
    expect((await call(s, newInstance('000002', 'b2'))).json.resultCode).toBe('000004');
    expect((await admin(s, 'PUT', { slowMs: 5, noNonceCheck: true })).json).toEqual({ mode: 'sync', slowMs: 5, noNonceCheck: true });
    expect(s.faults).toEqual({ slowMs: 5, noNonceCheck: true });
    expect((await admin(s, 'DELETE')).json).toEqual({ mode: 'sync' });
    expect(s.faults).toEqual({});
  });

  it('answers only to the access key, refuses unknown switches, and is off unless asked for', async () => {
    const s = await start();
    expect((await admin(s, 'GET', undefined, 'wrong-key')).status).toBe(401);
    expect((await admin(s, 'PUT', { down: 5 })).status).toBe(400);
    expect((await admin(s, 'PUT', { resultCodes: ['5'] })).status).toBe(400);
    expect((await admin(s, 'POST', {})).status).toBe(405);
    expect(s.faults).toEqual({});
    const plain = await h.start({});
    expect((await admin(plain, 'GET')).status).toBe(404);
  });

  it('npm run seller:faults sets and shows them by name, and names a bad switch', async () => {
    const s = await start();
    const url = s.url.replace('/saasproduce', '');
    // Asynchronously: the seller answering it runs in this process.
    const cli = (...args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((r) => {
      execFile('node', ['--import', 'tsx', 'scripts/seller-faults.ts', '--url', url, ...args], { cwd: ROOT, env: { ...process.env, SELLER_ACCESS_KEY: AK }, timeout: 60_000 },
        (e, stdout, stderr) => r({ status: e ? Number(e.code) : 0, stdout, stderr }));
    });
    const set = await cli('--down', '30', '--result-codes', '000005,000005', '--async', '--slow', '10', '--no-nonce-check');
    expect(set.stderr).toBe('');
    expect(set.stdout.trim()).toBe(`reference seller at ${url}: async, down for 30 s more, next newInstance codes 000005,000005, --no-nonce-check --slow 10`);
    expect(s.faults).toMatchObject({ resultCodes: ['000005', '000005'], slowMs: 10, noNonceCheck: true, downUntil: h.clock + 30_000 });
    const bad = await cli('--down', 'soon');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--down takes a number of seconds');
    expect((await cli('--clear')).stdout.trim()).toBe(`reference seller at ${url}: sync`);
  });
});
