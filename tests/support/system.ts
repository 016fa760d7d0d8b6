import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { createApp } from '../../api/app';
import { createPrincipal, issueApiKey } from '../../api/auth';
import { loadConfig } from '../../config';
import { merchants } from '../../db/schema';
import { newId } from '../../domain/ids';
import { createWorker } from '../../worker';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { TEST_MASTER_KEY } from './catalog';
import { freshDatabase } from './db';
import { startInbox } from './inbox';
import { workflowBundle } from './review-harness';

const QUIET_TEMPORAL_CLI = fileURLToPath(new URL('./temporal-quiet.sh', import.meta.url));

/**
 * The whole system as it runs in production, on loopback: a Temporal dev server, PostgreSQL, the
 * real worker, the REST API over real HTTP, and SMTP/SMS sinks standing in for the outside world.
 */
export async function startSystem(extraConfig: Record<string, string> = {}) {
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: QUIET_TEMPORAL_CLI }, searchAttributes: ALL_SEARCH_ATTRIBUTES, extraArgs: ['--log-level', 'error'] },
  });
  const database = await freshDatabase();
  const inbox = await startInbox();
  const config = loadConfig({
    SMTP_URL: inbox.smtpUrl, SMS_ENDPOINT: inbox.smsEndpoint, TEMPORAL_TASK_QUEUE: `it-${newId('', 6)}`, PORT: '0', LOG_LEVEL: 'silent',
    MASTER_KEY: TEST_MASTER_KEY, ...extraConfig,
  });
  const { db } = database;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const startWorker = async () => {
    worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: config.TEMPORAL_TASK_QUEUE, db, config, workflowBundle: await workflowBundle() });
    running = worker.run();
  };
  await startWorker();
  const app = createApp({ db, temporal: env.client, config, logger: pino({ level: 'silent' }) });
  const server: Server = await new Promise((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const party = async (role: 'buyer' | 'operator' | 'seller', extra: { merchantId?: string; supervisor?: boolean } = {}) => {
    const id = await createPrincipal(db, { role, name: `${role} ${newId('', 4)}`, email: `${role}@example.com`, ...extra });
    return { id, key: await issueApiKey(db, id) };
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

  return {
    env, db, inbox, config, baseUrl, call, party, merchant, startWorker,
    async stopWorker() { worker?.shutdown(); await running; worker = undefined; },
    async close() {
      await new Promise((r) => server.close(r));
      worker?.shutdown();
      await running;
      await env.teardown();
      await inbox.close();
      await database.drop();
    },
  };
}
export type System = Awaited<ReturnType<typeof startSystem>>;
