/**
 * `npm run bench:provision -- [N] [CONCURRENCY]`: SaaS orders end to end against the reference seller.
 *
 * Needs the test PostgreSQL (`DATABASE_URL=$(bash scripts/test-postgres.sh)`). Starts a Temporal dev
 * server, a fresh database, the reference seller and the real worker, then pushes N orders (order
 * placed → balance charged → newInstance signed and sent → instance recorded → order completed),
 * CONCURRENCY at a time, timing each from order to delivery. The baseline, in the same run on the same
 * server: a bare workflow running the same number of no-op activities as a delivered order runs on its
 * happy path (callNewInstance, markDelivered: 2), N times with the same concurrency.
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { createOrderService } from '../api/order-service';
import { loadConfig } from '../config';
import { newId } from '../domain/ids';
import { startReferenceSeller } from '../seller/server';
import { createWorker } from '../worker';
import { saasProvisionWorkflowId } from '../workflows/saas-provision-messages';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { seedSaasProduct, TEST_MASTER_KEY } from '../tests/support/catalog';
import { freshDatabase } from '../tests/support/db';
import { TEMPORAL_CLI } from './dev-server';

const N = Number(process.argv[2] ?? 100);
const CONCURRENCY = Number(process.argv[3] ?? 10);
if (!Number.isInteger(N) || N < 10 || !Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) {
  console.error('usage: npm run bench:provision -- [N >= 10] [CONCURRENCY >= 1]');
  process.exit(2);
}
const HAPPY_PATH_ACTIVITIES = 2;
Runtime.install({ logger: new DefaultLogger('ERROR') });

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };
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

const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: TEMPORAL_CLI }, searchAttributes: ALL_SEARCH_ATTRIBUTES, extraArgs: ['--log-level', 'error'] },
});
const database = await freshDatabase();
const accessKey = 'bench-seller-access-key-0001';
const seller = await startReferenceSeller({ accessKey, port: 0 });
const config = loadConfig({ MASTER_KEY: TEST_MASTER_KEY, TEMPORAL_TASK_QUEUE: `bench-${newId('', 6)}`, LOG_LEVEL: 'silent' });
const worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: config.TEMPORAL_TASK_QUEUE, db: database.db, config });
const baselineQueue = `${config.TEMPORAL_TASK_QUEUE}-baseline`;
const baselineWorker = await Worker.create({
  connection: env.nativeConnection, taskQueue: baselineQueue,
  workflowsPath: fileURLToPath(new URL('./bench-workflows.ts', import.meta.url)),
  activities: { noop: async () => undefined },
});
let failed = false;
try {
  await worker.runUntil(baselineWorker.runUntil(async () => {
    const seed = await seedSaasProduct(database.db, { productionUrl: seller.url, accessKey, priceCents: 100, balanceCents: 100 * (N + 10) });
    const orders = createOrderService({ db: database.db, temporal: env.client, config });
    console.log(`bench:provision — N=${N}, ${CONCURRENCY} in flight, Temporal dev server + PostgreSQL + reference seller on loopback`);
    // Warm-up: bundles are loaded, connections open, JIT warm.
    for (let i = 0; i < 3; i++) {
      const { lines } = await orders.place(seed.buyer, [{ skuId: seed.skuId }]);
      await env.client.workflow.getHandle(saasProvisionWorkflowId(lines[0]!.id)).result();
      await env.client.workflow.execute('noopActivities', { taskQueue: baselineQueue, workflowId: `warm-${i}-${newId('', 6)}`, args: [HAPPY_PATH_ACTIVITIES] });
    }
    const before = seller.instances().size;
    const provision = await run('orders end to end', async () => {
      const { lines } = await orders.place(seed.buyer, [{ skuId: seed.skuId }]);
      const result = await env.client.workflow.getHandle(saasProvisionWorkflowId(lines[0]!.id)).result();
      if (result.status !== 'delivered') throw new Error(`order line ${lines[0]!.id} ended ${result.status}`);
    });
    if (seller.instances().size - before !== N) throw new Error(`the seller holds ${seller.instances().size - before} new instances, expected ${N}`);
    const baseline = await run(`baseline: ${HAPPY_PATH_ACTIVITIES} no-op activities`, async (i) => {
      await env.client.workflow.execute('noopActivities', { taskQueue: baselineQueue, workflowId: `noop-${i}-${newId('', 6)}`, args: [HAPPY_PATH_ACTIVITIES] });
    });
    console.log(`ratio provision/baseline: throughput ${(provision.throughput / baseline.throughput).toFixed(2)}x, p50 ${(provision.p50 / baseline.p50).toFixed(2)}x`);
    console.log(`target: at least 0.50x of the baseline's throughput`);
  }));
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await seller.close();
  await env.teardown();
  await database.drop();
}
process.exit(failed ? 1 : 0);
