/**
 * `npm run bench:provision -- [N] [CONCURRENCY]`: SaaS orders end to end against the reference seller.
 *
 * Needs the test PostgreSQL (`DATABASE_URL=$(bash scripts/test-postgres.sh)`). Starts a Temporal dev
 * server, a fresh database, the reference seller (sync mode) and the real worker, then pushes N orders
 * (order placed → balance charged → newInstance signed and sent → instance recorded → order completed),
 * CONCURRENCY at a time, timing each from `place()` to the provisioning workflow's result. The baseline,
 * in the same run on the same server: a bare workflow running the same number of no-op activities as a
 * delivered order runs, N times with the same concurrency, on a second worker in this process.
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { createOrderService } from '../api/order-service';
import { loadConfig } from '../config';
import { newId } from '../domain/ids';
import { startReferenceSeller, type ReferenceSeller } from '../seller/server';
import { createWorker } from '../worker';
import { saasProvisionWorkflowId } from '../workflows/saas-provision-messages';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { seedSaasProduct, LOOPBACK_SELLERS, TEST_MASTER_KEY } from '../tests/support/catalog';
import { freshDatabase, TEST_DATABASE_URL } from '../tests/support/db';
import { TEMPORAL_CLI } from './dev-server';

// `--cluster`: the same orders on the cluster of docker-compose.yml, with one and with two worker processes.
if (process.argv[2] === '--cluster') {
  const { benchCluster } = await import('./bench-cluster');
  process.exit(await benchCluster(process.argv.slice(3)));
}

const N = Number(process.argv[2] ?? 100);
const CONCURRENCY = Number(process.argv[3] ?? 10);
if (!Number.isInteger(N) || N < 10 || !Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) {
  console.error('usage: npm run bench:provision -- [N >= 10] [CONCURRENCY >= 1]');
  process.exit(2);
}
/**
 * Activities a delivered order runs (workflows/saas-provision.ts with a sync seller): `seller.callNewInstance`
 * answers `success`, `attempt()` returns 'ready', and `finish('delivered')` runs `db.markDelivered` — 2.
 * `publish()` only upserts search attributes (no activity); `tellSeller` (notifyParty), `setProvisioning`,
 * `callQueryInstance` and `closeAndRefund` run only on retry, polling, failure or cancellation paths.
 */
const HAPPY_PATH_ACTIVITIES = 2;
const WARMUP = 3;
Runtime.install({ logger: new DefaultLogger('ERROR') });

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };

/** N runs of `one`, CONCURRENCY in flight; the latency of each run is measured under that load. */
async function run(label: string, one: (i: number) => Promise<void>) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) {
      const i = next++;
      const t = performance.now();
      await one(i);
      lat.push(performance.now() - t);
    }
  }));
  const r = { throughput: N / ((performance.now() - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
  console.log(`${label.padEnd(34)} ${r.throughput.toFixed(1).padStart(7)} orders/s   p50 ${r.p50.toFixed(1).padStart(7)} ms   p99 ${r.p99.toFixed(1).padStart(7)} ms`);
  return r;
}

/** Fails fast, before the dev server starts, when the test PostgreSQL is not there. */
async function requirePostgres() {
  const where = new URL(TEST_DATABASE_URL);
  where.password = '';
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    await c.query('select 1');
  } catch (e) {
    const why = e instanceof AggregateError ? e.errors.map(String).join('; ') : String((e as Error).message || e);
    throw new Error(`PostgreSQL is unreachable at ${where} (${why}).\n`
      + 'Start the test server and pass its URL: DATABASE_URL=$(bash scripts/test-postgres.sh) npm run bench:provision');
  } finally {
    await c.end().catch(() => undefined);
  }
}

// Everything started is torn down in reverse order, whatever failed and wherever.
const teardown: { what: string; fn: () => Promise<unknown> }[] = [];
const onTeardown = (what: string, fn: () => Promise<unknown>) => teardown.push({ what, fn });
let tearingDown = false;
/** Runs a worker now; at teardown it is shut down and its run awaited. A worker that stops early fails the bench. */
function runWorker(name: string, worker: Worker) {
  const running = worker.run();
  onTeardown(`${name} shutdown`, async () => { if (worker.getState() === 'RUNNING') worker.shutdown(); await running; });
  const stopped = running.then(() => { if (!tearingDown) throw new Error(`the ${name} stopped during the benchmark`); });
  stopped.catch(() => undefined); // reported through Promise.race, or at teardown; never unhandled
  return stopped;
}

let failed = false;
try {
  await requirePostgres();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: TEMPORAL_CLI }, searchAttributes: ALL_SEARCH_ATTRIBUTES, extraArgs: ['--log-level', 'error'] },
  });
  onTeardown('env.teardown', () => env.teardown());
  const database = await freshDatabase();
  onTeardown('database.drop', () => database.drop());
  const accessKey = 'bench-seller-access-key-0001';
  const seller: ReferenceSeller = await startReferenceSeller({ accessKey, port: 0, mode: 'sync' });
  onTeardown('seller.close', () => seller.close());

  const config = loadConfig({ MASTER_KEY: TEST_MASTER_KEY, ...LOOPBACK_SELLERS, TEMPORAL_TASK_QUEUE: `bench-${newId('', 6)}`, LOG_LEVEL: 'silent' });
  const worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: config.TEMPORAL_TASK_QUEUE, db: database.db, config });
  const workerStopped = runWorker('worker', worker);
  // The baseline workflow lives in its own bundle on its own task queue, beside the real worker in this process.
  const baselineQueue = `${config.TEMPORAL_TASK_QUEUE}-baseline`;
  const baselineWorker = await Worker.create({
    connection: env.nativeConnection, namespace: 'default', taskQueue: baselineQueue,
    workflowsPath: fileURLToPath(new URL('./bench-workflows.ts', import.meta.url)),
    activities: { noop: async () => undefined },
  });
  const baselineStopped = runWorker('baseline worker', baselineWorker);

  const bench = async () => {
    const seed = await seedSaasProduct(database.db, { productionUrl: seller.url, accessKey, priceCents: 100, balanceCents: 100 * (N + WARMUP) });
    const orders = createOrderService({ db: database.db, temporal: env.client, config });
    /** One order end to end: placed, then the provisioning workflow's result, which must be delivered. */
    const order = async () => {
      const { lines } = await orders.place(seed.buyer, [{ skuId: seed.skuId }]);
      const line = lines[0]!;
      const result = await env.client.workflow.getHandle(saasProvisionWorkflowId(line.id)).result();
      if (result.status !== 'delivered') throw new Error(`order line ${line.id} ended ${result.status}: ${result.lastError ?? ''}`);
      return line.id;
    };
    const noop = (id: string) => env.client.workflow.execute('noopActivities', { taskQueue: baselineQueue, workflowId: id, args: [HAPPY_PATH_ACTIVITIES] });

    console.log(`bench:provision — N=${N}, ${CONCURRENCY} in flight, Temporal dev server + PostgreSQL + reference seller on loopback`);
    // Warm-up (bundles loaded, connections open, JIT warm); the balance covers exactly WARMUP + N orders.
    for (let i = 0; i < WARMUP; i++) { await order(); await noop(`warm-${i}-${newId('', 6)}`); }
    const before = seller.instances().size;
    const measured: string[] = [];
    const provision = await run('orders end to end', async () => { measured.push(await order()); });
    const held = seller.instances();
    const missing = measured.filter((id) => !held.has(id));
    if (held.size - before !== N || missing.length) {
      throw new Error(`the seller holds ${held.size - before} new instances, expected exactly ${N}${missing.length ? `; none for ${missing.slice(0, 5).join(', ')}` : ''}`);
    }
    const baseline = await run(`baseline: ${HAPPY_PATH_ACTIVITIES} no-op activities`, async (i) => { await noop(`noop-${i}-${newId('', 6)}`); });
    console.log(`ratio provision/baseline: throughput ${(provision.throughput / baseline.throughput).toFixed(2)}x, p50 ${(provision.p50 / baseline.p50).toFixed(2)}x`);
    console.log(`target: at least 0.50x of the baseline's throughput`);
  };
  const benched = bench();
  benched.catch(() => undefined); // if a worker stops first, the race reports that instead
  await Promise.race([benched, workerStopped, baselineStopped]);
} catch (e) {
  failed = true;
  console.error(`bench:provision failed: ${e instanceof Error ? e.message : String(e)}`);
  if (e instanceof Error && e.stack && !/unreachable/.test(e.message)) console.error(e.stack);
} finally {
  tearingDown = true;
  for (const { what, fn } of teardown.reverse()) {
    try { await fn(); } catch (e) { failed = true; console.error(`teardown (${what}) failed:`, e); }
  }
}
process.exit(failed ? 1 : 0);
