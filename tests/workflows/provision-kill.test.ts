import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { eq } from 'drizzle-orm';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrderService } from '../../api/order-service';
import { loadConfig } from '../../config';
import { instances, orderLines } from '../../db/schema';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { saasProvisionWorkflowId } from '../../workflows/saas-provision-messages';
import { seedSaasProduct, LOOPBACK_SELLERS, TEST_MASTER_KEY } from '../support/catalog';
import { freshDatabase } from '../support/db';
import { startTimeSkipping } from '../support/time-skipping';

const KEY = 'kill-test-seller-access-key';
const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
});

let env: TestWorkflowEnvironment;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let seller: ReferenceSeller;
let port: number;
const children: ChildProcess[] = [];

beforeAll(async () => {
  port = await freePort();
  env = await startTimeSkipping(port);
  database = await freshDatabase();
  seller = await startReferenceSeller({ accessKey: KEY, port: 0 });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.pid) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
  await seller?.close();
  await env?.teardown();
  await database?.drop();
});

/** The real worker as its own OS process (`tsx main.ts`), so the test can kill it outright. */
function startWorkerProcess(taskQueue: string, extraEnv: Record<string, string> = {}): ChildProcess {
  const child = spawn('npx', ['tsx', 'main.ts'], {
    detached: true, stdio: 'ignore',
    env: {
      ...process.env, RUN_API: 'false', RUN_WORKER: 'true', CREATE_SCHEDULES: 'false', DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_TASK_QUEUE: taskQueue, MASTER_KEY: TEST_MASTER_KEY, ...LOOPBACK_SELLERS, LOG_LEVEL: 'silent', ...extraEnv,
    },
  });
  children.push(child);
  return child;
}

describe('a worker killed in the middle of provisioning', () => {
  it('loses no order and creates no second instance', async () => {
    const config = loadConfig({ MASTER_KEY: TEST_MASTER_KEY, ...LOOPBACK_SELLERS, TEMPORAL_TASK_QUEUE: 'kill-test' });
    const seed = await seedSaasProduct(database.db, { productionUrl: seller.url, accessKey: KEY });
    // The seller creates the instance, then takes its time to answer: the worker dies mid-call.
    seller.faults.slowMs = 60_000;
    // Without a cache the first worker leaves no sticky queue behind that only it could serve (the
    // time-skipping server never times sticky tasks out; a real server does after 5 s).
    const first = startWorkerProcess(config.TEMPORAL_TASK_QUEUE, { WORKER_MAX_CACHED_WORKFLOWS: '0' });
    const { lines } = await createOrderService({ db: database.db, temporal: env.client, config }).place(seed.buyer, [{ skuId: seed.skuId }]);
    const line = lines[0]!;
    for (let i = 0; i < 600 && !seller.received.some((c) => c.activity === 'newInstance'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(seller.instances().get(line.id)).toBeDefined();

    process.kill(-first.pid!, 'SIGKILL');
    seller.faults.slowMs = 0;
    startWorkerProcess(config.TEMPORAL_TASK_QUEUE);

    // The dead call times out after 30 s. A worker that died is our fault, not the seller's: the same attempt
    // is retried on the new worker (the seller sees the same order ids twice) and gets the same instance.
    const result = await env.client.workflow.getHandle(saasProvisionWorkflowId(line.id)).result();
    expect(result).toMatchObject({ status: 'delivered', attempts: 1, instanceId: seller.instances().get(line.id)!.instanceId });
    expect(seller.instances().size).toBe(1);
    expect(seller.received.filter((c) => c.activity === 'newInstance')).toHaveLength(2);
    expect(await database.db.select().from(instances).where(eq(instances.orderLineId, line.id))).toHaveLength(1);
    expect((await database.db.select().from(orderLines).where(eq(orderLines.id, line.id)))[0]).toMatchObject({ status: 'delivered', instanceConflict: false });
  });
});
