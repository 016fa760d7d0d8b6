/**
 * `npm run bench:provision -- --cluster [N] [CONCURRENCY] [ROUNDS]`: SaaS orders end to end on the
 * cluster (docker-compose.yml's topology as local processes: PostgreSQL, the Temporal server, two API
 * processes, the workers, the reference seller), with one worker process and with two, in turns
 * (1, 2, 1, 2, … ROUNDS times each), and the ratio. An order counts when its provisioning workflow has
 * delivered it: placed over HTTP (both APIs in turn), charged, newInstance signed and sent, the
 * seller's Query Order answered, the instance recorded.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { createPrincipal, issueApiKey } from '../api/auth';
import { openDatabase } from '../db/client';
import { topUp } from '../db/ledger';
import { saasProvisionWorkflowId } from '../workflows/saas-provision-messages';
import { startCluster } from './cluster';
import { ROOT } from './cluster/local';

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };

export async function benchCluster(args: string[]): Promise<number> {
  const [N, CONCURRENCY, ROUNDS] = [Number(args[0] ?? 200), Number(args[1] ?? 16), Number(args[2] ?? 2)];
  if (![N, CONCURRENCY, ROUNDS].every(Number.isInteger) || N < 10 || CONCURRENCY < 1 || ROUNDS < 1) {
    console.error('usage: npm run bench:provision -- --cluster [N >= 10] [CONCURRENCY >= 1] [ROUNDS >= 1]');
    return 2;
  }
  mkdirSync(join(ROOT, '.data'), { recursive: true });
  const dataDir = mkdtempSync(join(ROOT, '.data', 'bench-cluster-'));
  const cluster = await startCluster({ dataDir, ports: 'auto', scale: { worker: 2 }, log: (l) => console.log(`[cluster] ${l}`) });
  const database = await openDatabase({ url: cluster.urls.databaseUrl, poolSize: 2 });
  const connection = await Connection.connect({ address: cluster.urls.temporal });
  const temporal = new Client({ connection, namespace: 'default' });
  try {
    const keys = cluster.demoKeys!;
    const buyer = await createPrincipal(database.db, { role: 'buyer', name: 'Bench buyer' });
    await topUp(database.db, { key: `top-up:${buyer}:bench`, buyerId: buyer, amountCents: 2_000_000_000 });
    const buyerKey = await issueApiKey(database.db, buyer);
    const apis = cluster.urls.api;
    let n = 0;
    /** One order end to end; any failure fails the benchmark. */
    const order = async () => {
      const api = apis[n++ % apis.length]!;
      const res = await fetch(`${api}/v1/orders`, {
        method: 'POST', headers: { authorization: `Bearer ${buyerKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ skuId: keys.skuId }] }),
      });
      const body = (await res.json()) as { lines?: { id: string }[] };
      if (res.status !== 201 || !body.lines?.[0]) throw new Error(`order answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
      const result = await temporal.workflow.getHandle(saasProvisionWorkflowId(body.lines[0].id)).result() as { status: string };
      if (result.status !== 'delivered') throw new Error(`order line ${body.lines[0].id} ended ${result.status}`);
    };
    const phase = async (workers: number) => {
      for (let i = 0; i < 10; i++) await order(); // warm: bundles loaded, caches and connections
      const lat: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          next++;
          const t = performance.now();
          await order();
          lat.push(performance.now() - t);
        }
      }));
      const r = { workers, throughput: N / ((performance.now() - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
      console.log(`${String(workers).padStart(2)} worker process(es): ${r.throughput.toFixed(1).padStart(6)} orders/s   p50 ${r.p50.toFixed(0).padStart(5)} ms   p99 ${r.p99.toFixed(0).padStart(5)} ms   (load average ${loadavg()[0]!.toFixed(1)})`);
      return r;
    };

    console.log(`bench:provision --cluster — N=${N} per run, ${CONCURRENCY} in flight, ${apis.length} API processes, ${ROUNDS} round(s) of 1 then 2 workers; ${cluster.urls.temporal}`);
    const one: number[] = [];
    const two: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await cluster.kill('worker-2', 'SIGTERM'); // a clean stop: the other worker takes everything
      one.push((await phase(1)).throughput);
      await cluster.restart('worker-2');
      two.push((await phase(2)).throughput);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`throughput: 1 worker ${mean(one).toFixed(1)} orders/s, 2 workers ${mean(two).toFixed(1)} orders/s; ratio 2/1: ${(mean(two) / mean(one)).toFixed(2)}x`);
    return 0;
  } catch (e) {
    console.error(`bench:provision --cluster failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await connection.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    await cluster.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
