import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app';
import { createOrderService } from '../../api/order-service';
import { createReviewIntake } from '../../api/review-intake';
import { issueApiKey } from '../../api/auth';
import { merchantApplications, orderLines, reviewEvents } from '../../db/schema';
import { seedSaasProduct } from '../support/catalog';
import { applicationInput } from '../support/fixtures';
import { startSystem, type System } from '../support/system';
import { eventually } from '../support/eventually';

let s: System;
let operator: { id: string; key: string };
let alice: { id: string; key: string };
// The same API, but its Temporal client names a namespace that does not exist: every start fails,
// as when the Temporal service is away.
let cutOff: Server;
let cutOffUrl: string;
beforeAll(async () => {
  s = await startSystem();
  operator = await s.party('operator');
  alice = await s.party('buyer');
  const away = new Client({ connection: s.env.connection, namespace: 'no-such-namespace' });
  const app = createApp({ db: s.db, temporal: away, config: s.config, logger: pino({ level: 'silent' }) });
  cutOff = await new Promise((r) => { const srv = app.listen(0, '127.0.0.1', () => r(srv)); });
  cutOffUrl = `http://127.0.0.1:${(cutOff.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => cutOff?.close(r));
  await s?.close();
});

const applyWhileAway = async () => {
  const res = await fetch(`${cutOffUrl}/v1/merchant-applications`, {
    method: 'POST', headers: { authorization: `Bearer ${alice.key}`, 'content-type': 'application/json' }, body: JSON.stringify(applicationInput()),
  });
  return { status: res.status, json: await res.json() as { id: string; status: string; openedAt: string; workflowStartedAt: string | null } };
};
const row = async (id: string) => (await s.db.select().from(merchantApplications).where(eq(merchantApplications.id, id)))[0]!;
const describeCase = (id: string) => s.env.client.workflow.getHandle(`merchant-review:${id}`).describe();

describe('intake: accepted work always gets its workflow, once', () => {
  it('accepts an application while Temporal is away, and the sweep starts its review once', async () => {
    const accepted = await applyWhileAway();
    expect(accepted.status).toBe(201);
    expect(accepted.json).toMatchObject({ status: 'pending', workflowStartedAt: null });
    const id = accepted.json.id;
    expect((await row(id)).workflowStartedAt).toBeNull();
    await expect(describeCase(id)).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const intake = createReviewIntake({ db: s.db, temporal: s.env.client, config: s.config });
    expect(await intake.sweep(0)).toBeGreaterThanOrEqual(1);
    expect((await row(id)).workflowStartedAt).toBeInstanceOf(Date);
    const run = await describeCase(id);
    expect(run.status.name).toBe('RUNNING');
    // The deadline counts from when the application was accepted, not from the late start.
    await eventually(() => row(id), (r) => r.deadline !== null, 'the deadline');
    const [round] = await s.db.select().from(reviewEvents).where(and(eq(reviewEvents.applicationId, id), eq(reviewEvents.type, 'round_opened')));
    expect(round!.at.toISOString()).toBe(accepted.json.openedAt);

    // A second sweep finds nothing to do, and the case still has its one run.
    expect(await intake.sweep(0)).toBe(0);
    expect((await describeCase(id)).runId).toBe(run.runId);
    await eventually(() => s.env.client.workflow.count(`WorkflowId = "merchant-review:${id}"`), (c) => c.count === 1, 'one run in visibility');
  });

  it('delivers a decision on a case whose workflow has not started yet, starting it first', async () => {
    const { json } = await applyWhileAway();
    const approved = await s.call('POST', `/v1/reviews/${json.id}/approve`, { key: operator.key, body: { note: 'fine' } });
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ id: json.id, status: 'approved', decidedBy: operator.id });
    expect((await row(json.id)).workflowStartedAt).toBeInstanceOf(Date);
    expect(approved.json.history.map((e: { type: string }) => e.type)).toEqual(['round_opened', 'approved']);
  });

  it('takes a paid order while Temporal is away, and the sweep starts its provisioning once', async () => {
    // A seller interface nobody answers: the workflow only has to exist, not to succeed.
    const shop = await seedSaasProduct(s.db, { productionUrl: 'http://127.0.0.1:9/produce', accessKey: 'intake-test-access-key' });
    const key = await issueApiKey(s.db, shop.buyer);
    const res = await fetch(`${cutOffUrl}/v1/orders`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ skuId: shop.skuId }] }),
    });
    expect(res.status).toBe(201);
    const { id: orderId } = await res.json() as { id: string };
    const [line] = await s.db.select().from(orderLines).where(eq(orderLines.orderId, orderId));
    expect(line!.workflowStartedAt).toBeNull();
    const provision = s.env.client.workflow.getHandle(`saas-provision:${line!.id}`);
    await expect(provision.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const orders = createOrderService({ db: s.db, temporal: s.env.client, config: s.config });
    expect(await orders.sweep(0)).toBe(1);
    const run = await provision.describe();
    expect(run.status.name).toBe('RUNNING');
    expect((await s.db.select().from(orderLines).where(eq(orderLines.id, line!.id)))[0]!.workflowStartedAt).toBeInstanceOf(Date);
    expect(await orders.sweep(0)).toBe(0);
    expect((await provision.describe()).runId).toBe(run.runId);
    await provision.terminate('test over');
  });
});
