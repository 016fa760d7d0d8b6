/**
 * `npm run bench:api [-- N [CONCURRENCY]]`: what the HTTP layer adds to starting a review.
 *
 * Starts a Temporal dev server persisted to SQLite (as `make start` runs it), a fresh PostgreSQL
 * database and the API in its own process on loopback. Then it makes N onboarding applications over
 * HTTP and, in the same run, N starts of the same workflow with the same options straight through
 * the Temporal client. Each is measured one request at a time (latency) and CONCURRENCY at a time
 * (throughput). No worker runs, so both sides measure the start alone, not the work the workflows
 * then do. BENCH_TEMPORAL=memory runs the dev server in memory instead, where a start costs a few
 * milliseconds and the fixed cost of an HTTP request weighs far more in the ratio. BENCH_PROF=1 writes
 * a CPU profile of the API process to /tmp/prof.
 */
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { count, isNull } from 'drizzle-orm';
import { createPrincipal, issueApiKey } from '../api/auth';
import { reviewStartOptions } from '../api/review-intake';
import { loadConfig } from '../config';
import { merchantApplications } from '../db/schema';
import { newId } from '../domain/ids';
import { merchantReviewWorkflowId } from '../workflows/merchant-review-messages';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { freshDatabase } from '../tests/support/db';
import { applicationInput } from '../tests/support/fixtures';
import { TEMPORAL_CLI } from './dev-server';

const N = Number(process.argv[2] ?? 200);
const CONCURRENCY = Number(process.argv[3] ?? 8);
if (!Number.isInteger(N) || N < 10 || !Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) {
  console.error('usage: npm run bench:api -- [N >= 10] [CONCURRENCY >= 1]');
  process.exit(2);
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };
const fmt = (label: string, p50: number, p99: number, rate?: number) =>
  console.log(`${label.padEnd(44)} p50 ${p50.toFixed(2).padStart(7)} ms   p99 ${p99.toFixed(2).padStart(7)} ms${rate === undefined ? '' : `   ${rate.toFixed(1).padStart(7)}/s (${CONCURRENCY} in flight)`}`);

const freePort = () => new Promise<number>((resolve, reject) => {
  const srv = createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address() as AddressInfo; srv.close(() => resolve(port)); }).on('error', reject);
});

interface Figures { p50: number; p99: number; throughput: number }

/**
 * Latency: the paths take turns, one call each, N times, so that a server slowing down as its
 * history grows (SQLite) weighs on both alike. Throughput: each path alone, CONCURRENCY calls at a time.
 */
async function compare(paths: { label: string; one: () => Promise<void> }[]): Promise<Figures[]> {
  const lat = paths.map(() => [] as number[]);
  for (let i = 0; i < N; i++) {
    for (const [k, p] of paths.entries()) {
      const t = performance.now();
      await p.one();
      lat[k]!.push(performance.now() - t);
    }
  }
  const out: Figures[] = [];
  for (const [k, p] of paths.entries()) {
    let left = N;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (left-- > 0) await p.one(); }));
    const r = { p50: pct(lat[k]!, 50), p99: pct(lat[k]!, 99), throughput: N / ((performance.now() - t0) / 1000) };
    fmt(p.label, r.p50, r.p99, r.throughput);
    out.push(r);
  }
  return out;
}

const inMemory = process.env.BENCH_TEMPORAL === 'memory';
const scratch = mkdtempSync(join(tmpdir(), 'bench-api-'));
const env = await TestWorkflowEnvironment.createLocal({
  server: {
    executable: { type: 'existing-path', path: TEMPORAL_CLI }, searchAttributes: ALL_SEARCH_ATTRIBUTES,
    extraArgs: ['--log-level', 'error', ...(inMemory ? [] : ['--db-filename', join(scratch, 'temporal.db')])],
  },
});
const database = await freshDatabase();
const apiEnv = {
  DATABASE_URL: database.url, TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: `bench-${newId('', 6)}`,
  PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'silent', RUN_WORKER: 'false',
};
const config = loadConfig(apiEnv);
// The API runs in its own process, as it does in production (npm run serve), not inside the client.
const api = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), '--import', 'tsx', 'main.ts'], { env: { ...process.env, ...apiEnv }, stdio: ['ignore', 'inherit', 'inherit'] });
// A plain keep-alive client, as load generators use: fetch (undici) adds about half a millisecond per call here.
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(apiEnv.PORT), path, method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve({ status: res.statusCode!, text }));
    }).on('error', reject);
    req.end(body);
  });

try {
  for (let up = false, i = 0; !up; i++) {
    if (i === 300) throw new Error(`the API did not come up on port ${apiEnv.PORT}`);
    up = await call('GET', '/healthz').then((r) => r.status === 200, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  const key = await issueApiKey(database.db, await createPrincipal(database.db, { role: 'buyer', name: 'bench' }));
  const apply = async () => {
    const res = await call('POST', '/v1/merchant-applications', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify(applicationInput()));
    if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${res.text}`);
  };
  const directStart = async () => {
    const id = newId('MA');
    await env.client.workflow.start('merchantReview', reviewStartOptions({ id, kind: 'onboarding', merchantId: null, workflowId: merchantReviewWorkflowId(id), openedAt: new Date() }, config));
  };

  console.log(`bench:api — N=${N} per phase; Temporal dev server ${inMemory ? 'in memory' : 'persisted to SQLite'}, PostgreSQL, API process, all on loopback`);
  // Warm both paths (connections, JIT) before measuring.
  for (let i = 0; i < 20; i++) { await directStart(); await apply(); }

  const [, direct, http] = await compare([
    { label: 'GET /healthz (HTTP round trip, for reference)', one: async () => { await call('GET', '/healthz'); } },
    { label: 'Temporal client start', one: directStart },
    { label: 'HTTP POST /v1/merchant-applications', one: apply },
  ]) as [Figures, Figures, Figures];

  // Every accepted case must have its workflow: the API's answer came after its start. Visibility and
  // the started records (written just after each answer) trail a little.
  const expected = 2 * (2 * N + 20);
  let running = 0;
  let unstarted = -1;
  for (let i = 0; i < 50 && (running < expected || unstarted !== 0); i++) {
    if (i) await new Promise((r) => setTimeout(r, 100));
    running = (await env.client.workflow.count(`WorkflowType = 'merchantReview' AND ExecutionStatus = 'Running'`)).count;
    [{ unstarted }] = await database.db.select({ unstarted: count() }).from(merchantApplications).where(isNull(merchantApplications.workflowStartedAt)) as [{ unstarted: number }];
  }
  console.log(`check: ${running} review workflows running for ${expected / 2} applications and ${expected / 2} direct starts; ${unstarted} cases not recorded as started yet`);
  if (running !== expected || unstarted !== 0) throw new Error('the runs do not match the requests');

  const ratio = http.p50 / direct.p50;
  console.log(`ratio HTTP/direct: p50 ${ratio.toFixed(2)}x, p99 ${(http.p99 / direct.p99).toFixed(2)}x, throughput ${(http.throughput / direct.throughput).toFixed(2)}x`);
  console.log(`HTTP layer adds ${((ratio - 1) * 100).toFixed(0)}% at p50 (target: at most 30%)`);
} finally {
  agent.destroy();
  api.kill('SIGTERM');
  await new Promise((r) => api.once('exit', r));
  await env.teardown();
  await database.drop();
  rmSync(scratch, { recursive: true, force: true });
}
