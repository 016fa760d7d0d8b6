import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConformanceActivities } from '../../activities/conformance';
import { loadConfig } from '../../config';
import { conformanceRuns, products } from '../../db/schema';
import { isOurFault } from '../../seller-client/faults';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { seedSaasProduct, TEST_MASTER_KEY } from '../support/catalog';
import { freshDatabase } from '../support/db';

const AK = 'conformance-activity-key-0123';
let database: Awaited<ReturnType<typeof freshDatabase>>;
let seller: ReferenceSeller;
beforeAll(async () => {
  try { Runtime.install({ logger: new DefaultLogger('ERROR') }); } catch { /* already installed in this process */ }
  database = await freshDatabase();
  seller = await startReferenceSeller({ accessKey: AK, port: 0 });
});
afterAll(async () => { await seller?.close(); await database?.drop(); });

const options = { timeoutMs: 5000, pollWindowMs: 1000, pollIntervalMs: 100, periodic: true };

async function newRun(productionUrl: string) {
  const { db } = database;
  const seed = await seedSaasProduct(db, { productionUrl, accessKey: AK });
  const id = `CR${seed.productId.slice(2)}`;
  await db.insert(conformanceRuns).values({ id, productId: seed.productId, merchantId: seed.merchantId, requestedBy: seed.seller, status: 'running', options });
  return { id, seed };
}

describe('conformance activities', () => {
  it('runs the kit with order ids of its attempt, stores the report, records the pass on the product, and never runs a finished run again', async () => {
    const { db } = database;
    const { id, seed } = await newRun(seller.url);
    const acts = createConformanceActivities({ db, config: loadConfig({ MASTER_KEY: TEST_MASTER_KEY }) });
    const heartbeats: unknown[] = [];
    const env = new MockActivityEnvironment({ attempt: 2 });
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    expect(await env.run(acts.runConformanceKit, { runId: id })).toEqual({ status: 'passed', failures: [] });
    expect(heartbeats.length).toBeGreaterThan(15);
    expect([...seller.instances().values()].every((i) => i.orderId === `KIT${id}2`)).toBe(true);
    const [run] = await db.select().from(conformanceRuns).where(eq(conformanceRuns.id, id));
    expect(run).toMatchObject({ status: 'passed' });
    expect(run!.report!.runId).toBe(`${id}2`);
    const [product] = await db.select().from(products).where(eq(products.id, seed.productId));
    expect([product!.conformanceRunId, product!.conformancePassedAt?.toISOString()]).toEqual([id, run!.finishedAt!.toISOString()]);

    const calls = seller.received.length;
    expect(await new MockActivityEnvironment({ attempt: 3 }).run(acts.runConformanceKit, { runId: id })).toEqual({ status: 'passed', failures: [] });
    expect(seller.received.length).toBe(calls);
  });

  it('throws our own fault, before any call, when the master key is missing, and leaves the run running for the stuck guard', async () => {
    const { db } = database;
    const { id } = await newRun(seller.url);
    const calls = seller.received.length;
    const acts = createConformanceActivities({ db, config: loadConfig({}) });
    const thrown = await new MockActivityEnvironment().run(acts.runConformanceKit, { runId: id }).catch((e: unknown) => e);
    expect(isOurFault(thrown)).toBe(true);
    expect(seller.received.length).toBe(calls);
    const [run] = await db.select().from(conformanceRuns).where(eq(conformanceRuns.id, id));
    expect(run).toMatchObject({ status: 'running', report: null });
  });
});
