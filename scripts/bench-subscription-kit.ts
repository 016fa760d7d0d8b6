/**
 * What bench:subscriptions and bench:renewals share: the test PostgreSQL check, bulk seeding of delivered
 * subscriptions, the worker as a child process (scripts/bench-worker.ts) with its memory and CPU read from /proc,
 * a counting proxy in front of each reference seller, and teardown in reverse order whatever fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { signRequest } from '../domain/saas-signing';
import { createSecretBox } from '../domain/secret-box';
import { LOOPBACK_SELLERS, TEST_MASTER_KEY } from '../tests/support/catalog';
import { freshDatabase, TEST_DATABASE_URL } from '../tests/support/db';
import { newId } from '../domain/ids';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { TEMPORAL_CLI } from './dev-server';

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fails fast, before anything starts, when the test PostgreSQL is not there. */
export async function requirePostgres(bench: string) {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try { await c.connect(); await c.query('select 1'); } catch (e) {
    throw new Error(`PostgreSQL is unreachable (${(e as Error).message}).\nStart the test server and pass its URL: DATABASE_URL=$(bash scripts/test-postgres.sh) npm run ${bench}`);
  } finally { await c.end().catch(() => undefined); }
}

/**
 * The dev server (in memory, with this project's search attributes), a fresh database and the worker's settings,
 * each registered for teardown; fails first when the test PostgreSQL is not there.
 */
export async function startBenchServers(bench: string, teardown: ReturnType<typeof teardownList>, extraEnv: Record<string, string> = {}) {
  await requirePostgres(bench);
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: TEMPORAL_CLI }, searchAttributes: ALL_SEARCH_ATTRIBUTES, extraArgs: ['--log-level', 'error'] },
  });
  teardown.add('dev server', () => env.teardown());
  const database = await freshDatabase();
  teardown.add('database', () => database.drop());
  const workerEnv: Record<string, string> = {
    DATABASE_URL: database.url, TEMPORAL_ADDRESS: env.connection.options.address as string, TEMPORAL_TASK_QUEUE: `bench-${newId('', 6)}`,
    MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'silent', CREATE_SCHEDULES: 'false', RUN_API: 'false',
    // The reference sellers are on loopback over http: the address guard allows them here, as in tests.
    ...LOOPBACK_SELLERS, ...extraEnv,
  };
  return { env, database, workerEnv, taskQueue: workerEnv.TEMPORAL_TASK_QUEUE! };
}

/** Everything started is torn down in reverse order, whatever failed. */
export function teardownList() {
  const list: { what: string; fn: () => Promise<unknown> }[] = [];
  return {
    add: (what: string, fn: () => Promise<unknown>) => { list.push({ what, fn }); },
    async run(): Promise<boolean> {
      let ok = true;
      for (const { what, fn } of list.reverse()) { try { await fn(); } catch (e) { ok = false; console.error(`teardown (${what}) failed:`, e); } }
      return ok;
    },
  };
}

export type Teardown = ReturnType<typeof teardownList>;

/** Runs a benchmark's body, then its teardown whatever happened, and exits 1 if either failed. */
export async function runBench(name: string, body: (teardown: Teardown) => Promise<void>): Promise<never> {
  const teardown = teardownList();
  let failed = false;
  try {
    await body(teardown);
  } catch (e) {
    failed = true;
    console.error(`${name} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  } finally {
    if (!(await teardown.run())) failed = true;
  }
  process.exit(failed ? 1 : 0);
}

/** Runs `fn` for 0..n-1, `concurrency` at a time. */
export async function inParallel(n: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => { while (next < n) await fn(next++); }));
}

export interface Seller { url: string; accessKey: string }

/**
 * N delivered monthly subscriptions, spread over the sellers' products, each with its own buyer holding `balanceCents`
 * (one opening ledger transaction for all), written in bulk as delivery would write them.
 */
export async function seedSubscriptions(url: string, o: { n: number; sellers: Seller[]; priceCents: number; balanceCents: number; deliveredAt: Date; expiresAt: Date; policy: 'auto_renew' | 'no_renewal' }) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('begin');
    await c.query(`insert into principals (id, role, name, email) values ('PBENCHOWNER', 'buyer', 'Bench seller owner', null)`);
    await c.query(`insert into principals (id, role, name, email, customer_level) select 'PB' || g, 'buyer', 'Bench buyer ' || g, 'b' || g || '@bench.local', 'V4' from generate_series(1, $1::int) g`, [o.n]);
    const box = createSecretBox(TEST_MASTER_KEY);
    for (const [i, s] of o.sellers.entries()) {
      await c.query(`insert into merchants (id, owner_principal_id, status, profile, onboarding_application_id) values ($1, 'PBENCHOWNER', 'active', '{}', 'MABENCH')`, [`MBENCH${i}`]);
      await c.query(`insert into products (id, merchant_id, name, delivery_type, status, production_url, access_key_enc) values ($1, $2, 'Bench SaaS', 'saas', 'on_sale', $3, $4)`, [`PRBENCH${i}`, `MBENCH${i}`, s.url, box.seal(s.accessKey)]);
      await c.query(`insert into skus (id, product_id, name, charging_mode, periods, price_cents) values ($1, $2, 'month', 'monthly', 1, $3)`, [`SKBENCH${i}`, `PRBENCH${i}`, o.priceCents]);
    }
    const s = o.sellers.length;
    await c.query(`insert into orders (id, buyer_principal_id, status, total_cents) select 'CSBENCH' || lpad(g::text, 8, '0'), 'PB' || g, 'completed', $2 from generate_series(1, $1::int) g`, [o.n, o.priceCents]);
    await c.query(`insert into order_lines (id, order_id, product_id, sku_id, merchant_id, status, provisioning, price_cents, instance_id, workflow_started_at)
      select 'CSBENCH' || lpad(g::text, 8, '0') || '-000001', 'CSBENCH' || lpad(g::text, 8, '0'), 'PRBENCH' || (g % $2), 'SKBENCH' || (g % $2), 'MBENCH' || (g % $2), 'delivered', 'done', $3, 'IBENCH' || g, now()
      from generate_series(1, $1::int) g`, [o.n, s, o.priceCents]);
    await c.query(`insert into instances (id, order_line_id, product_id, buyer_principal_id, delivered_by) select 'IBENCH' || g, 'CSBENCH' || lpad(g::text, 8, '0') || '-000001', 'PRBENCH' || (g % $2), 'PB' || g, 'interface' from generate_series(1, $1::int) g`, [o.n, s]);
    await c.query(`insert into subscriptions (id, order_line_id, buyer_principal_id, merchant_id, product_id, sku_id, trial, status, policy, delivered_at, expires_at)
      select 'IBENCH' || g, 'CSBENCH' || lpad(g::text, 8, '0') || '-000001', 'PB' || g, 'MBENCH' || (g % $2), 'PRBENCH' || (g % $2), 'SKBENCH' || (g % $2), false, 'active', $3, $4, $5
      from generate_series(1, $1::int) g`, [o.n, s, o.policy, o.deliveredAt, o.expiresAt]);
    if (o.balanceCents > 0) {
      // One balanced opening transaction: the payments account gives every buyer its balance.
      const { rows: [t] } = await c.query(`insert into ledger_transactions (key, kind, gross_cents, memo) values ('bench:opening', 'top_up', $1, 'bench balances') returning id`, [o.n * o.balanceCents]);
      await c.query(`insert into ledger_accounts (id, kind, owner_id, balance_cents) select 'buyer:PB' || g, 'buyer', 'PB' || g, 0 from generate_series(1, $1::int) g`, [o.n]);
      await c.query(`insert into ledger_entries (transaction_id, account_id, amount_cents)
        select $1::bigint, 'buyer:PB' || g, $2::bigint from generate_series(1, $3::int) g union all select $1::bigint, 'marketplace:payments', -$2::bigint * $3`, [t.id, o.balanceCents, o.n]);
    }
    await c.query('commit');
  } catch (e) {
    await c.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    await c.end();
  }
}

/** Registers the instances with their seller by a signed newInstance each (the reference seller names an instance after the first businessId). */
export async function registerInstances(n: number, sellers: Seller[], direct: string[]) {
  await inParallel(n, 32, async (i) => {
    const g = i + 1;
    const s = sellers[g % sellers.length]!;
    const id = `CSBENCH${String(g).padStart(8, '0')}`;
    const { payload, query } = signRequest(s.accessKey, { activity: 'newInstance', orderId: id, orderLineId: `${id}-000001`, businessId: `IBENCH${g}` }, Date.now());
    const res = await fetch(`${direct[g % sellers.length]}?${new URLSearchParams(query)}`, { method: 'POST', headers: { 'content-type': 'application/json;charset=utf-8' }, body: payload });
    const body = await res.json() as { resultCode?: string };
    if (body.resultCode !== '000000') throw new Error(`newInstance for IBENCH${g} answered ${JSON.stringify(body)}`);
  });
}

/** The worker as its own process (scripts/bench-worker.ts), so its memory and CPU are its own. */
export async function startWorkerProcess(env: Record<string, string>): Promise<{ child: ChildProcess; noops(): Promise<number>; stop(): Promise<void> }> {
  const child = fork(fileURLToPath(new URL('./bench-worker.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the worker process exited (${code}) before it ran`)));
    child.on('message', (m) => { if ((m as { ready?: boolean }).ready) resolve(); });
  });
  child.removeAllListeners('exit');
  return {
    child,
    noops: () => new Promise((resolve) => {
      const on = (m: unknown) => { if (typeof (m as { noops?: number }).noops === 'number') { child.off('message', on); resolve((m as { noops: number }).noops); } };
      child.on('message', on);
      child.send('noops');
    }),
    stop: () => new Promise<void>((resolve) => { if (child.exitCode !== null) return resolve(); child.once('exit', () => resolve()); child.kill('SIGTERM'); }),
  };
}

const TICKS_PER_SECOND = 100;
/** Resident memory (MB) and CPU time (s) of a process, from /proc. */
export function processStats(pid: number): { rssMb: number; cpuSeconds: number } {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { rssMb: rssKb / 1024, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

/** Watches a process for `ms`: its resident memory at the end and its CPU use over the span (% of one core). */
export async function watchProcess(pid: number, ms: number) {
  const a = processStats(pid);
  await pause(ms);
  const b = processStats(pid);
  return { rssMb: b.rssMb, cpuPercent: (100 * (b.cpuSeconds - a.cpuSeconds)) / (ms / 1000) };
}

/**
 * A proxy in front of a reference seller that counts what the seller sees: calls, the most in flight at once,
 * and calls started per second. The request goes through byte for byte, so signatures still verify.
 */
export async function countingProxy(target: string) {
  const t = new URL(target);
  const stats = { calls: 0, inFlight: 0, maxInFlight: 0, perSecond: new Map<number, number>() };
  const server: Server = createServer((req, res) => {
    stats.calls++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const second = Math.floor(Date.now() / 1000);
    stats.perSecond.set(second, (stats.perSecond.get(second) ?? 0) + 1);
    const up = request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
      r.on('end', () => { stats.inFlight--; });
    });
    up.on('error', () => { stats.inFlight--; res.writeHead(502).end(); });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${t.pathname}`,
    stats,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}
