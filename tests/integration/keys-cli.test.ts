import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, principals } from '../../db/schema';
import { startSystem, type System } from '../support/system';

/**
 * `npm run keys:create` beside a running system (scripts/create-key.ts): it finds this checkout's API through
 * the start.pid that `make start` writes and creates the key with POST /v1/api-keys as the operator. The
 * script is given no database at all, so a key that works on the API can only have come through it.
 */
const run = promisify(execFile);
let s: System;
let dataDir: string;
let operator: { id: string; key: string };

beforeAll(async () => {
  s = await startSystem();
  operator = await s.party('operator');
  dataDir = mkdtempSync(join(tmpdir(), 'keys-cli-'));
  writeFileSync(join(dataDir, 'start.pid'), JSON.stringify({ pid: process.pid, apiUrl: s.baseUrl }));
  writeFileSync(join(dataDir, 'demo-keys.json'), JSON.stringify({ operator: operator.key }));
});
afterAll(async () => { rmSync(dataDir, { recursive: true, force: true }); await s?.close(); });

async function keysCreate(args: string[], env: Record<string, string> = {}) {
  const { DATABASE_URL: _db, PGLITE_DIR: _pglite, ...rest } = process.env;
  try {
    const r = await run('node_modules/.bin/tsx', ['scripts/create-key.ts', ...args], { env: { ...rest, DATA_DIR: dataDir, PGLITE_DIR: join(dataDir, 'no-database-here'), ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('npm run keys:create while the system runs', () => {
  it('creates a buyer key through the API, which works at once; the buyer is funded with a top-up', async () => {
    const r = await keysCreate(['--role', 'buyer', '--name', 'CLI buyer', '--email', 'cli@example.com']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { principalId: string; role: string; apiKey: string; via: string };
    s.secret(out.apiKey);
    expect(out.role).toBe('buyer');
    expect(out.via).toBe(`${s.baseUrl}/v1/api-keys`);
    const [row] = await s.db.select().from(apiKeys).where(eq(apiKeys.principalId, out.principalId));
    expect(row!.label).toBe(`issued by ${operator.id}`);
    const topUp = await s.call('POST', `/v1/accounts/${out.principalId}/top-up`, { key: operator.key, body: { amountCents: 2500 } });
    expect(topUp.status).toBe(200);
    expect((await s.call('GET', '/v1/account', { key: out.apiKey })).json).toEqual({ principalId: out.principalId, balanceCents: 2500 });
  });

  it('creates supervisor operators and seller keys, and names what the API refuses', async () => {
    const op = await keysCreate(['--role', 'operator', '--name', 'Ops Wang', '--supervisor']);
    expect(op.code, op.stderr).toBe(0);
    const opOut = JSON.parse(op.stdout) as { principalId: string; apiKey: string };
    s.secret(opOut.apiKey);
    expect((await s.db.select().from(principals).where(eq(principals.id, opOut.principalId)))[0]!.supervisor).toBe(true);

    const merchantId = await s.merchant();
    const seller = await keysCreate(['--role', 'seller', '--name', 'Seller two', '--merchant', merchantId]);
    expect(seller.code, seller.stderr).toBe(0);
    const sellerOut = JSON.parse(seller.stdout) as { apiKey: string };
    s.secret(sellerOut.apiKey);
    expect((await s.call('GET', '/v1/api-keys', { key: sellerOut.apiKey })).json.items[0].merchantId).toBe(merchantId);

    const unknown = await keysCreate(['--role', 'seller', '--name', 'Nobody', '--merchant', 'MNOSUCHSELLER']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('answered 404');
    const phone = await keysCreate(['--role', 'operator', '--name', 'X', '--phone', '+8613800000000']);
    expect(phone.code).toBe(2);
    expect(phone.stderr).toContain('--phone');
    const badKey = await keysCreate(['--role', 'buyer', '--name', 'X'], { OPERATOR_API_KEY: 'mk_NOPE_nope' });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('answered 401');
    expect(badKey.stderr).not.toMatch(/\n\s+at /);
  });
});
