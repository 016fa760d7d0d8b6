import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '../../api/auth';
import { supervisionFiles, supervisionLog } from '../../db/schema';
import { TEMPORAL_CLI } from '../../scripts/dev-server';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { seedSupervisedProduct, TEST_MASTER_KEY } from '../support/catalog';
import { freshDatabase } from '../support/db';

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let env: TestWorkflowEnvironment;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let temporalPort: number;
let apiPort: number;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  temporalPort = await freePort();
  apiPort = await freePort();
  dir = await mkdtemp(join(tmpdir(), 'supervision-kill-'));
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: TEMPORAL_CLI }, port: temporalPort, searchAttributes: ALL_SEARCH_ATTRIBUTES, extraArgs: ['--log-level', 'error'] },
  });
  database = await freshDatabase();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.pid) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
  await env?.teardown();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** The system as `make start` runs it (API and worker in one OS process), on PostgreSQL, so the test can SIGKILL it. */
async function startProcess(): Promise<ChildProcess> {
  const child = spawn('npx', ['tsx', 'main.ts'], {
    detached: true, stdio: 'ignore',
    env: {
      ...process.env, RUN_API: 'true', RUN_WORKER: 'true', CREATE_SCHEDULES: 'false', DATABASE_URL: database.url, PORT: String(apiPort),
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, TEMPORAL_TASK_QUEUE: 'supervision-kill', MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'silent',
      ARTIFACT_DIR: dir, INTAKE_SWEEP_SECONDS: '1',
    },
  });
  children.push(child);
  for (let i = 0; i < 600; i++) {
    if (await fetch(`http://127.0.0.1:${apiPort}/healthz`).then((r) => r.ok, () => false)) return child;
    await sleep(100);
  }
  throw new Error('the system did not start');
}
async function kill(child: ChildProcess) {
  process.kill(-child.pid!, 'SIGKILL');
  for (let i = 0; i < 100 && child.exitCode === null && child.signalCode === null; i++) await sleep(50);
}

const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(200_000, 0x41), Buffer.from('\n%%EOF\n')]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function call(key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json().catch(() => undefined) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * An action as a client sends it after a crash (README, docs/durable-patterns.md): a 503 (Temporal did not take it
 * in time: right after a kill -9 the workflow's next task waits out the dead worker's sticky queue) or a 202 (taken,
 * not yet written) is sent again with the same Idempotency-Key, which is the same Update: it happens once.
 */
async function act(key: string, line: string, path: string, body: unknown, idem: string) {
  for (let i = 0; ; i++) {
    const r = await call(key, 'POST', `/v1/supervisions/${line}/${path}`, body, { 'idempotency-key': idem });
    if (![202, 503].includes(r.status) || i >= 60) return r;
    await sleep(1_000);
  }
}

/**
 * A multipart upload written by hand so the test controls its pace: the head and `sendFirst` bytes go
 * at once, the rest only when `release()` is called.
 */
function slowUpload(key: string, line: string, idem: string, data: Buffer, sendFirst: number) {
  const boundary = `kill${Date.now()}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="statement_of_work"; filename="sow.pdf"\r\nContent-Type: application/pdf\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  const body = new ReadableStream<Uint8Array>({
    async start(c) {
      c.enqueue(new Uint8Array(Buffer.concat([head, data.subarray(0, sendFirst)])));
      await released;
      c.enqueue(new Uint8Array(Buffer.concat([data.subarray(sendFirst), tail])));
      c.close();
    },
  });
  const response = fetch(`http://127.0.0.1:${apiPort}/v1/supervisions/${line}/files`, {
    method: 'POST', body, duplex: 'half',
    headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'idempotency-key': idem },
  } as RequestInit);
  // A kill rejects it before the test awaits it: handled from the start, so the rejection is not reported as
  // unhandled; the test still asserts it.
  response.catch(() => undefined);
  return { response, release };
}

describe('the system killed between stages and during an upload', () => {
  it('loses nothing and logs every action once', async () => {
    const seed = await seedSupervisedProduct(database.db, { kind: 'manual_service', template: ['statement_of_work'] });
    const buyer = await issueApiKey(database.db, seed.buyer);
    const seller = await issueApiKey(database.db, seed.seller);
    let proc = await startProcess();

    const placed = await call(buyer, 'POST', '/v1/orders', { items: [{ skuId: seed.skuId }] }, { 'idempotency-key': 'order-1' });
    expect(placed.status).toBe(201);
    const line = placed.json.lines[0].id as string;
    for (let i = 0; i < 100 && !(await call(buyer, 'GET', `/v1/supervisions/${line}`)).json.started; i++) await sleep(100);
    expect((await act(buyer, line, 'requirement', { comment: 'v1' }, 'req')).json.stage).toBe('requirement_review');

    // Between stages.
    await kill(proc);
    proc = await startProcess();
    expect((await act(seller, line, 'requirement/confirm', {}, 'confirm')).json.stage).toBe('delivery');

    // During an upload: half the file is in, then the process dies. Nothing of it is recorded.
    const first = slowUpload(seller, line, 'proof-1', PDF, 100_000);
    const partials = async () => (await readdir(join(dir, '.partial')).catch(() => [])).length;
    for (let i = 0; i < 200 && (await partials()) === 0; i++) await sleep(50);
    // The store is writing it: the process dies mid-file.
    expect(await partials()).toBe(1);
    await kill(proc);
    first.release();
    await expect(first.response).rejects.toThrow();
    expect(await database.db.select().from(supervisionFiles).where(eq(supervisionFiles.orderLineId, line))).toHaveLength(0);
    proc = await startProcess();
    // The client sends the upload again with the same Idempotency-Key.
    const again = slowUpload(seller, line, 'proof-1', PDF, 0);
    again.release();
    const uploaded = await again.response;
    expect(uploaded.status).toBe(201);
    const file = ((await uploaded.json()) as { items: { id: string; sha256: string; size: number }[] }).items[0]!;
    expect(file).toMatchObject({ sha256: sha(PDF), size: PDF.length });

    // An action whose answer is lost with the process: retried with its key, it happens once.
    const delivering = call(seller, 'POST', `/v1/supervisions/${line}/delivery`, { attachments: [file.id] }, { 'idempotency-key': 'deliver' }).catch(() => undefined);
    await sleep(150);
    await kill(proc);
    await delivering;
    proc = await startProcess();
    expect((await act(seller, line, 'delivery', { attachments: [file.id] }, 'deliver')).json.stage).toBe('acceptance');
    expect((await act(buyer, line, 'acceptance', {}, 'accept')).json.stage).toBe('completed');

    const log = await database.db.select().from(supervisionLog).where(eq(supervisionLog.orderLineId, line)).orderBy(supervisionLog.seq);
    expect(log.map((e) => [e.seq, e.action])).toEqual([[1, 'open'], [2, 'submitRequirement'], [3, 'confirmRequirement'], [4, 'deliver'], [5, 'accept']]);
    expect(log[3]!.attachments).toEqual([file.id]);
    expect(await database.db.select().from(supervisionFiles).where(eq(supervisionFiles.orderLineId, line))).toHaveLength(1);
    const dl = await fetch(`http://127.0.0.1:${apiPort}/v1/supervisions/${line}/files/${file.id}`, { headers: { authorization: `Bearer ${buyer}` } });
    expect(sha(Buffer.from(await dl.arrayBuffer()))).toBe(sha(PDF));
    await kill(proc);
  });
});
