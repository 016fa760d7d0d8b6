import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { makeStart, readmeWalkthrough, ROOT, runWalkthrough, type MakeStart } from '../support/make-start';

/**
 * The README's demo walkthroughs, run as written against `make start DEMO_FAST=1` on a fresh data directory,
 * with the demo durations shortened further: a working day of 5 s, retries every 5 s for a minute.
 */
const run = promisify(execFile);
let sys: MakeStart;
beforeAll(async () => {
  sys = await makeStart({ DEMO_FAST: '1', DEMO_WORKING_DAY_SECONDS: '5', PROVISION_RETRY_INTERVAL_MS: '5000', PROVISION_RETRY_WINDOW_MS: '60000' });
}, 200_000);
afterAll(async () => { await sys?.close(); });

const api = async (path: string, key: string) => {
  const res = await fetch(sys.baseUrl + path, { headers: { authorization: `Bearer ${key}` } });
  return res.json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};
const open = (port: number) => new Promise<boolean>((r) => {
  const s = createConnection(port, '127.0.0.1').once('connect', () => { s.destroy(); r(true); }).once('error', () => r(false));
});

describe('make start DEMO_FAST=1 and the README walkthroughs', () => {
  it('starts with a banner of live figures and the demo durations marked as not for production', () => {
    expect(sys.output()).toContain('(balance 1000.00)');
    expect(sys.output()).toMatch(/DEMO_FAST: a review's working day lasts 5 s, provisioning retries every 5 s for 1 min\.\n\s+For trying things only: never run production like this\./);
  });

  it('runs both walkthroughs: a failing order retried, restarted and delivered by hand; a review overdue and escalated', async () => {
    const [order, review] = await Promise.all([
      runWalkthrough(sys, readmeWalkthrough('failing-order'), 180_000),
      runWalkthrough(sys, readmeWalkthrough('overdue-review'), 180_000),
    ]);
    expect(order.stderr).toBe('');
    expect(order.code).toBe(0);
    expect(review.stderr).toBe('');
    expect(review.code).toBe(0);

    // The failing order, as its walkthrough printed it and as the API has it now.
    expect(order.stdout).toContain('down for 600 s more');
    expect(order.stdout).toMatch(/"provisioning":"interface_failed"/);
    expect(order.stdout).toMatch(/"status": "interface_failed",\s+"attempts": \d+,\s+"lastError": "HTTP 503"/);
    expect(order.stdout).toMatch(/"status": "delivered",\s+"instanceId": "manual-1"/);
    expect(order.stdout).toMatch(/"status": "completed",\s+"line": "delivered"/);
    const orderId = /"id": "(CS[A-Z0-9]+)"/.exec(order.stdout)![1]!;
    const placed = await api(`/v1/orders/${orderId}`, sys.keys.buyer!);
    expect(placed.lines[0]).toMatchObject({ status: 'delivered', instanceId: 'manual-1' });
    const messages = (await api(`/v1/interface-messages?orderLineId=${placed.lines[0].id}`, sys.keys.seller!)).items;
    // Retries every 5 s for a minute, then the restart's one more: all refused by the outage.
    expect(messages.length).toBeGreaterThanOrEqual(5);
    expect(messages.every((m: { httpStatus: number; outcome: string }) => m.httpStatus === 503 && m.outcome === 'retryable')).toBe(true);
    expect(await api('/v1/account', sys.keys.buyer!)).toMatchObject({ balanceCents: 100_000 - 9900 });

    // The overdue review.
    expect(review.stdout).toMatch(/"overdue":true/);
    expect(review.stdout).toMatch(/"subject":"Review [A-Z0-9]+ is overdue"/);
    expect(review.stdout).toMatch(/"status": "approved",\s+"overdue": (true|false),\s+"merchantId": "M[A-Z0-9]+"/);

    // make start's terminal: one line per seller call and no stack anywhere.
    expect(sys.output()).toMatch(/WARN: seller newInstance CS[A-Z0-9]+-000001: HTTP 503 → retryable in \d+ ms/);
    expect(sys.output()).not.toMatch(/^\s+at /m);
  }, 240_000);

  it('npm run keys:create works beside it (through its API: PGlite is held), and the new buyer is funded as the README says', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'keys:create', '--', '--role', 'buyer', '--name', 'Second buyer'], { cwd: ROOT, env: sys.env });
    const made = JSON.parse(stdout) as { principalId: string; apiKey: string; via: string };
    expect(made.via).toBe(`${sys.baseUrl}/v1/api-keys`);
    const topUp = await fetch(`${sys.baseUrl}/v1/accounts/${made.principalId}/top-up`, {
      method: 'POST', headers: { authorization: `Bearer ${sys.keys.operator}`, 'content-type': 'application/json', 'idempotency-key': 'funding-1' },
      body: JSON.stringify({ amountCents: 50_000 }),
    });
    expect(topUp.status).toBe(200);
    expect(await api('/v1/account', made.apiKey)).toEqual({ principalId: made.principalId, balanceCents: 50_000 });
  }, 120_000);

  it('stops on Ctrl-C with nothing alarming, and frees every port', async () => {
    const before = sys.output().length;
    // make passes the SIGINT on to itself once the system has stopped, as it does in a terminal, where that prints nothing.
    const { code, signal } = await sys.interrupt();
    expect(code === 0 || signal === 'SIGINT').toBe(true);
    const tail = sys.output().slice(before);
    expect(tail).toContain('stopped.');
    expect(tail).not.toMatch(/Interrupt|Error|ERROR|WARN|\*\*\*/);
    for (const port of Object.values(sys.ports)) expect(await open(port)).toBe(false);
  }, 90_000);
});
