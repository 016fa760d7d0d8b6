import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually';
import { applicationInput } from '../support/fixtures';
import { makeStart, type MakeStart } from '../support/make-start';

/**
 * A `make start` killed with SIGKILL (a closed terminal, an OOM kill) leaves its Temporal dev server running on
 * the port and the SQLite file. The next `make start` in the same checkout ends that orphan and comes up on the
 * same data, with nothing lost; a second `make start` beside a live one refuses to start.
 */
const runs: MakeStart[] = [];
afterAll(async () => { for (const r of runs.reverse()) await r.close(); });

const open = (port: number) => new Promise<boolean>((r) => {
  const s = createConnection(port, '127.0.0.1').once('connect', () => { s.destroy(); r(true); }).once('error', () => r(false));
});
const call = async (sys: MakeStart, method: string, path: string, key: string, body?: unknown) => {
  const res = await fetch(sys.baseUrl + path, {
    method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
};

describe('make start after a kill -9 of the last one', () => {
  it('ends the dev server the killed run left, comes up on the same data, and refuses to run twice', async () => {
    const first = await makeStart();
    runs.push(first);
    const buyerKey = first.keys.buyer!;
    const filed = await call(first, 'POST', '/v1/merchant-applications', buyerKey, applicationInput());
    expect(filed.status).toBe(201);
    const balance = await call(first, 'GET', '/v1/account', buyerKey);
    expect(balance.status).toBe(200);

    const { pid, temporalPid } = JSON.parse(readFileSync(join(first.dataDir, 'start.pid'), 'utf8')) as { pid: number; temporalPid: number };
    process.kill(pid, 'SIGKILL');
    await first.exited();
    // What the killed run leaves: its dev server, still holding the port.
    expect(await open(first.ports.temporal)).toBe(true);
    expect(() => process.kill(temporalPid, 0)).not.toThrow();

    const second = await makeStart({}, first);
    runs.push(second);
    expect(second.output()).toContain(`stopped the Temporal dev server (pid ${temporalPid})`);
    expect(() => process.kill(temporalPid, 0)).toThrow();
    expect((await call(second, 'GET', '/v1/account', buyerKey)).json).toEqual(balance.json);
    // The application filed before the kill is there, and its review runs: it has its deadline.
    const app = await eventually(() => call(second, 'GET', `/v1/merchant-applications/${filed.json.id}`, buyerKey), (r) => r.json.deadline !== null, 'the review deadline');
    expect(app.json).toMatchObject({ status: 'pending', round: 1 });

    await expect(makeStart({}, first)).rejects.toThrow(/make start already runs from this checkout/);
    expect(await open(second.ports.api)).toBe(true);
  }, 420_000);
});
