/**
 * `npm run bench:api [-- N [CONCURRENCY]]`: what the HTTP layer adds to starting a review.
 *
 * Starts a Temporal dev server, a fresh PostgreSQL database and the API on loopback, then makes
 * N onboarding applications over HTTP (auth, validation, a database row, the workflow start) and,
 * in the same run, N starts of the same workflow straight through the Temporal client. Each is
 * measured one request at a time (latency) and CONCURRENCY at a time (throughput). No worker runs
 * during the measurement, so both sides measure the start alone, not the work the workflows do.
 */
import { performance } from 'node:perf_hooks';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { createApp } from '../api/app';
import { createPrincipal, issueApiKey } from '../api/auth';
import { loadConfig } from '../config';
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

async function measure(label: string, one: (i: number) => Promise<void>) {
  const lat: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await one(i);
    lat.push(performance.now() - t);
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (next < N) await one(N + next++); }));
  const throughput = N / ((performance.now() - t0) / 1000);
  const r = { label, p50: pct(lat, 50), p99: pct(lat, 99), throughput };
  console.log(`${label.padEnd(28)} p50 ${r.p50.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   ${r.throughput.toFixed(1).padStart(7)} starts/s (${CONCURRENCY} in flight)`);
  return r;
}

const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: TEMPORAL_CLI }, searchAttributes: ALL_SEARCH_ATTRIBUTES, extraArgs: ['--log-level', 'error'] },
});
const database = await freshDatabase();
const config = loadConfig({ TEMPORAL_TASK_QUEUE: `bench-${newId('', 6)}`, LOG_LEVEL: 'silent' });
const app = createApp({ db: database.db, temporal: env.client, config, logger: pino({ level: 'silent' }) });
const server: Server = await new Promise((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const key = await issueApiKey(database.db, await createPrincipal(database.db, { role: 'buyer', name: 'bench' }));

try {
  console.log(`bench:api — N=${N} per phase, Temporal dev server + PostgreSQL on loopback`);
  // Warm both paths (connections, JIT) before measuring.
  for (let i = 0; i < 20; i++) {
    await env.client.workflow.start('merchantReview', { workflowId: `warm-${i}-${newId('', 6)}`, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [{}] });
    await fetch(`${base}/v1/merchant-applications`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(applicationInput()) });
  }
  const direct = await measure('Temporal client start', async () => {
    const id = newId('MA');
    await env.client.workflow.start('merchantReview', {
      workflowId: merchantReviewWorkflowId(id), taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [{ applicationId: id, kind: 'onboarding', workingDays: 3, resubmitWindowDays: 30 }],
    });
  });
  const http = await measure('HTTP POST /v1/merchant-applications', async () => {
    const res = await fetch(`${base}/v1/merchant-applications`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(applicationInput()),
    });
    if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  });
  const ratio = http.p50 / direct.p50;
  console.log(`ratio HTTP/direct: p50 ${ratio.toFixed(2)}x, p99 ${(http.p99 / direct.p99).toFixed(2)}x, throughput ${(http.throughput / direct.throughput).toFixed(2)}x`);
  console.log(`HTTP layer adds ${((ratio - 1) * 100).toFixed(0)}% at p50 (target: at most 30%)`);
} finally {
  server.close();
  await env.teardown();
  await database.drop();
}
