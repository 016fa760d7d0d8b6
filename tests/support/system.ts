import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { clientTracing, setupTracing } from '../../observability/tracing';
import { logLines as workerLogLines, workerMetricsAddress } from './quiet-logs';
import { pino } from 'pino';
import { createApp } from '../../api/app';
import { listen } from '../../api/edge';
import { createPrincipal, issueApiKey } from '../../api/auth';
import { loadConfig } from '../../config';
import { merchants } from '../../db/schema';
import { newId } from '../../domain/ids';
import { createWorker } from '../../worker';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { LOOPBACK_SELLERS, TEST_MASTER_KEY } from './catalog';
import { openDatabase } from '../../db/client';
import { freshDatabase } from './db';
import { startTcpProxy } from './tcp-proxy';
import { startInbox } from './inbox';
import { workflowBundle } from './review-harness';

const QUIET_TEMPORAL_CLI = fileURLToPath(new URL('./temporal-quiet.sh', import.meta.url));

/**
 * The whole system as it runs in production, on loopback: a Temporal dev server, PostgreSQL, the
 * real worker, the REST API over real HTTP, and SMTP/SMS sinks standing in for the outside world.
 */
/**
 * `databaseProxy`: the API and worker reach PostgreSQL through a proxy the test can cut; `config`: settings over the
 * test defaults; `spanExporter`: traces on, into this exporter (observability/tracing.ts), otherwise tracing stays off.
 */
export async function startSystem(opts: { databaseProxy?: boolean; config?: Record<string, string>; spanExporter?: SpanExporter } = {}) {
  // Every log line of the API and (when this file installs the runtime first) the worker, and every secret the
  // test hands out: close() finds none of the secrets in the logs or in any workflow history (README, "Keys and secrets").
  const logs: string[] = [];
  const secrets = new Set<string>([TEST_MASTER_KEY]);
  // The SDK's worker lines (warnings and errors: tests/support/quiet-logs.ts installs its runtime) are checked too.
  const workerMetrics = workerMetricsAddress;
  if (opts.spanExporter) setupTracing({ exporter: opts.spanExporter });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: QUIET_TEMPORAL_CLI }, searchAttributes: ALL_SEARCH_ATTRIBUTES, extraArgs: ['--log-level', 'error'] },
  });
  const database = await freshDatabase();
  const inbox = await startInbox();
  const config = loadConfig({
    SMTP_URL: inbox.smtpUrl, SMS_ENDPOINT: inbox.smsEndpoint, TEMPORAL_TASK_QUEUE: `it-${newId('', 6)}`, PORT: '0', LOG_LEVEL: 'silent',
    MASTER_KEY: TEST_MASTER_KEY, ...LOOPBACK_SELLERS, ...(workerMetrics ? { WORKER_METRICS_ADDRESS: workerMetrics } : {}), ...opts.config,
  });
  const { db } = database;
  // With `databaseProxy` the API and the worker reach PostgreSQL through a proxy the test can cut (an outage);
  // `db` stays direct, for the test's own reads.
  const url = new URL(database.url);
  const proxy = opts.databaseProxy ? await startTcpProxy({ host: url.hostname, port: Number(url.port) }) : undefined;
  const appDatabase = proxy ? await openDatabase({ url: Object.assign(new URL(database.url), { port: String(proxy.port) }).toString(), poolSize: 5 }) : undefined;
  const appDb = appDatabase?.db ?? db;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const startWorker = async () => {
    worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: config.TEMPORAL_TASK_QUEUE, db: appDb, config, temporal: env.client, workflowBundle: await workflowBundle() });
    running = worker.run();
  };
  await startWorker();
  // The API's client carries the trace context into workflow starts, as in main.ts.
  const apiClient = new Client({ connection: env.connection, namespace: 'default', interceptors: clientTracing });
  const app = createApp({ db: appDb, temporal: apiClient, config, logger: pino({ level: 'info' }, { write: (line: string) => { logs.push(line); } }) });
  const server: Server = await listen(app, 0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const party = async (role: 'buyer' | 'operator' | 'seller', extra: { merchantId?: string; supervisor?: boolean } = {}) => {
    const id = await createPrincipal(db, { role, name: `${role} ${newId('', 4)}`, email: `${role}@example.com`, ...extra });
    const key = await issueApiKey(db, id);
    secrets.add(key);
    return { id, key };
  };

  /** An active merchant (owned by a new buyer account), for seller parties: `party('seller', { merchantId: await merchant() })`. */
  const merchant = async () => {
    const owner = await party('buyer');
    const id = newId('M', 12);
    await db.insert(merchants).values({ id, ownerPrincipalId: owner.id, status: 'active', onboardingApplicationId: 'MA-seed', profile: { companyName: 'Seller', customerServiceEmail: 'cs@seller.example.com' } });
    return id;
  };

  /** One HTTP call; the body is parsed when it is JSON. */
  async function call(method: string, path: string, o: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
        ...(o.body !== undefined || o.raw !== undefined ? { 'content-type': 'application/json' } : {}),
        ...o.headers,
      },
      body: o.raw ?? (o.body !== undefined ? JSON.stringify(o.body) : undefined),
    });
    const text = await res.text();
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, type: res.headers.get('content-type') ?? '', json, text, headers: res.headers };
  }

  /** Every workflow history on this server, payloads decoded, as text. */
  async function exportHistories(): Promise<string[]> {
    const out: string[] = [];
    for await (const wf of env.client.workflow.list()) {
      const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      out.push(JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v)));
    }
    return out;
  }

  /** Fails when a secret handed to the system shows in a log line or a workflow history, or a log line carries SQL parameters. */
  async function assertNoSecretsLeaked() {
    const histories = await exportHistories();
    const lines = [...logs, ...workerLogLines];
    for (const secret of secrets) {
      const inLogs = lines.find((l) => l.includes(secret));
      if (inLogs) throw new Error(`a secret shows in a log line: ${inLogs.slice(0, 300)}`);
      const inHistory = histories.find((h) => h.includes(secret));
      if (inHistory) throw new Error(`a secret shows in a workflow history: ${inHistory.slice(0, 300)}`);
    }
    const sql = lines.find((l) => /Failed query|params:/.test(l)) ?? histories.find((h) => /Failed query|params:/.test(h));
    if (sql) throw new Error(`SQL text or parameters in a log line or history: ${sql.slice(0, 300)}`);
    return { histories: histories.length, logLines: lines.length };
  }

  return {
    env, db, inbox, config, baseUrl, call, party, merchant, startWorker, proxy, logs, exportHistories, assertNoSecretsLeaked,
    /** A secret the system must never log or put into history (access keys, passwords). */
    secret(value: string) { if (value) secrets.add(value); },
    async stopWorker() { worker?.shutdown(); await running; worker = undefined; },
    async close() {
      try {
        await assertNoSecretsLeaked();
      } finally {
        await shutdown();
      }
    },
  };

  async function shutdown() {
    // A request still waiting (on a cut database, a slow Temporal) would hold close() open: end every connection.
    const closed = new Promise((r) => server.close(r));
    server.closeAllConnections();
    await closed;
    worker?.shutdown();
    await running;
    await env.teardown();
    await inbox.close();
    await appDatabase?.close();
    await proxy?.close();
    await database.drop();
  }
}
export type System = Awaited<ReturnType<typeof startSystem>>;
