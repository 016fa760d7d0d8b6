import { WorkflowUpdateStage } from '@temporalio/client';
import { eq, sql } from 'drizzle-orm';
import { createOrderService } from '../../api/order-service';
import { ensureReconcileSchedule } from '../../api/schedules';
import { applicationRevisions, orderLines } from '../../db/schema';
import { startReferenceSeller } from '../../seller/server';
import { approveUpdate, merchantReviewWorkflowId } from '../../workflows/merchant-review-messages';
import { RECONCILE_SCHEDULE_ID } from '../../workflows/reconcile';
import { saasProvisionWorkflowId } from '../../workflows/saas-provision-messages';
import { seedSaasProduct } from '../support/catalog';
import { recordHistory } from '../support/replay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationInput } from '../support/fixtures';
import { startSystem, type System } from '../support/system';
import { eventually } from '../support/eventually';

let s: System;
let operator: { id: string; key: string };
let applicant: { id: string; key: string };
beforeAll(async () => {
  // The API and the worker reach PostgreSQL through a proxy the outage test cuts.
  s = await startSystem({ databaseProxy: true });
  operator = await s.party('operator', { supervisor: true });
  applicant = await s.party('buyer');
});
afterAll(async () => s?.close());

/** A fault injected below the API and the activities: PostgreSQL itself refuses the write. */
const inject = (name: string, table: string, when: string, errcode: string) => s.db.execute(sql.raw(`
  create or replace function ${name}() returns trigger language plpgsql as $$
  begin if ${when} then raise exception 'injected fault' using errcode = '${errcode}'; end if; return new; end $$;
  create trigger ${name} before insert or update on ${table} for each row execute function ${name}();`));
const heal = (name: string, table: string) => s.db.execute(sql.raw(`drop trigger if exists ${name} on ${table}`));
async function openCase() {
  const created = await s.call('POST', '/v1/merchant-applications', { key: applicant.key, body: applicationInput() });
  expect(created.status).toBe(201);
  const id = created.json.id as string;
  await eventually(() => s.call('GET', `/v1/reviews/${id}`, { key: operator.key }), (r) => r.json.deadline !== null, 'the deadline');
  return id;
}
/** Wall-clock time of one call: a decision never holds an HTTP request for more than a few seconds. */
const timed = async <T>(fn: () => Promise<T>) => { const t = Date.now(); const r = await fn(); return { r, ms: Date.now() - t }; };

describe('decisions that cannot finish at once, over HTTP', () => {
  it('a reject whose reason the database refuses answers 422 at once and leaves the case open for the next decision', async () => {
    const id = await openCase();
    await inject('poison_reason', 'merchant_applications', `new.reasons::text like '%POISON%'`, '22P05');
    try {
      const { r: refused, ms } = await timed(() => s.call('POST', `/v1/reviews/${id}/reject`, { key: operator.key, body: { reasons: ['POISON in the reason'] } }));
      expect(refused.status).toBe(422);
      expect(refused.type).toContain('application/problem+json');
      expect(refused.json.detail).toContain('22P05');
      expect(ms).toBeLessThan(8_000);
    } finally {
      await heal('poison_reason', 'merchant_applications');
    }
    const approved = await s.call('POST', `/v1/reviews/${id}/approve`, { key: operator.key, body: {} });
    expect(approved.status).toBe(200);
    expect(approved.json.status).toBe('approved');
  });

  it('an approve held by our own fault answers 202 with the case to follow; operators list it as stuck and their retry delivers it once fixed', async () => {
    const id = await openCase();
    await inject('broken_merchants', 'merchants', 'true', '23514');
    try {
      const { r: held, ms } = await timed(() => s.call('POST', `/v1/reviews/${id}/approve`, { key: operator.key, body: {} }));
      expect(held.status).toBe(202);
      expect(held.headers.get('location')).toBe(`/v1/reviews/${id}`);
      expect(held.json.status).toBe('pending');
      expect(ms).toBeLessThan(10_000);

      const listed = await eventually(() => s.call('GET', '/v1/stuck-processes', { key: operator.key }),
        (r) => r.json.items.some((i: { subjectId: string }) => i.subjectId === id), 'the stuck list');
      const item = listed.json.items.find((i: { subjectId: string }) => i.subjectId === id);
      expect(item).toMatchObject({ workflowId: `merchant-review:${id}`, workflowType: 'merchantReview', step: 'approve', failureType: 'ConstraintViolated', resolvedAt: null });
      expect((await s.call('GET', '/v1/stuck-processes', { key: applicant.key })).status).toBe(403);
      // A second decision while the first is held: 409, the case is not open to another.
      expect((await s.call('POST', `/v1/reviews/${id}/reject`, { key: operator.key, body: { reasons: ['no'] } })).status).toBe(409);

      const early = await s.call('POST', `/v1/stuck-processes/merchant-review:${id}/retry`, { key: operator.key, body: {} });
      expect(early.status).toBe(200);
      expect(early.json).toMatchObject({ resolved: false, stuck: { failureType: 'ConstraintViolated' } });
    } finally {
      await heal('broken_merchants', 'merchants');
    }
    const retried = await s.call('POST', `/v1/stuck-processes/merchant-review:${id}/retry`, { key: operator.key, body: {} });
    expect(retried.status).toBe(200);
    expect(retried.json).toEqual({ resolved: true, stuck: null });
    const done = await eventually(() => s.call('GET', `/v1/reviews/${id}`, { key: operator.key }), (r) => r.json.status === 'approved', 'approved');
    expect(done.json.decidedBy).toBe(operator.id);
    expect((await s.call('GET', `/v1/stuck-processes/merchant-review:${id}`, { key: operator.key })).json).toMatchObject({ resolvedBy: operator.id });
    expect((await s.call('POST', `/v1/stuck-processes/merchant-review:${id}/retry`, { key: operator.key, body: {} })).status).toBe(409);
  });

  it('the reconciliation Schedule starts again a paid line whose workflow was terminated from outside, and flags a review case for operators', async () => {
    const seller = await startReferenceSeller({ accessKey: 'reconcile-seller-access-key', port: 0 });
    try {
      seller.faults.downUntil = Number.MAX_SAFE_INTEGER;
      const seed = await seedSaasProduct(s.db, { productionUrl: seller.url, accessKey: 'reconcile-seller-access-key' });
      const { lines } = await createOrderService({ db: s.db, temporal: s.env.client, config: s.config }).place(seed.buyer, [{ skuId: seed.skuId }]);
      const line = lines[0]!;
      const provisioning = s.env.client.workflow.getHandle(saasProvisionWorkflowId(line.id));
      await eventually(async () => (await provisioning.fetchHistory()).events?.some((e) => e.activityTaskCompletedEventAttributes) ?? false, (ok) => ok, 'a first attempt');
      await provisioning.terminate('terminated by hand, by mistake');
      const caseId = await openCase();
      await eventually(() => s.call('GET', `/v1/reviews/${caseId}`, { key: operator.key }), (r) => r.json.workflowStartedAt !== null, 'the case\'s start recorded');
      await s.env.client.workflow.getHandle(merchantReviewWorkflowId(caseId)).terminate('terminated by hand, by mistake');
      // Both rows are still open: nothing else would ever move them.
      expect((await s.db.select().from(orderLines).where(eq(orderLines.id, line.id)))[0]).toMatchObject({ status: 'processing' });
      seller.faults.downUntil = undefined;

      await ensureReconcileSchedule(s.env.client, s.config.TEMPORAL_TASK_QUEUE, { everyMinutes: 60, graceMs: 0 });
      const schedule = s.env.client.schedule.getHandle(RECONCILE_SCHEDULE_ID);
      await schedule.trigger();
      const described = await eventually(() => schedule.describe(), (d) => d.info.recentActions.length > 0, 'a reconciliation round');
      const action = described.info.recentActions[0]!.action;
      const roundHandle = s.env.client.workflow.getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId);
      const round = await roundHandle.result();
      await recordHistory(roundHandle, 'one-repaired-one-flagged');
      expect(round.repaired).toContain(provisioning.workflowId);
      expect(round.flagged).toContain(merchantReviewWorkflowId(caseId));

      // The line's new run delivers it; the terminated run's row is repaired.
      await eventually(async () => (await s.db.select().from(orderLines).where(eq(orderLines.id, line.id)))[0]!, (l) => l.status === 'delivered', 'delivered by the new run');
      const resolved = await s.call('GET', `/v1/stuck-processes/${provisioning.workflowId}`, { key: operator.key });
      expect(resolved.json).toMatchObject({ failureType: 'WorkflowClosed', resolvedBy: 'reconciliation' });
      // Operators see the review case they must decide about.
      const open = await s.call('GET', '/v1/stuck-processes', { key: operator.key });
      expect(open.json.items).toContainEqual(expect.objectContaining({ workflowId: merchantReviewWorkflowId(caseId), failureType: 'WorkflowClosed', resolvedAt: null }));
      await eventually(async () => s.inbox.mails.some((m) => m.subject.startsWith('Reconciliation')), (ok) => ok, 'the supervisors told');
    } finally {
      await seller.close();
    }
  });

  it('a database outage answers decisions 503 with Retry-After within seconds, and a decision taken before it is written once the database is back', async () => {
    const created = await s.call('POST', '/v1/merchant-applications', { key: applicant.key, body: applicationInput() });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    await eventually(() => s.call('GET', `/v1/reviews/${id}`, { key: operator.key }), (r) => r.json.deadline !== null, 'the deadline');

    await s.proxy!.cut();
    try {
      const started = Date.now();
      const refused = await s.call('POST', `/v1/reviews/${id}/approve`, { key: operator.key, body: {} });
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(refused.status).toBe(503);
      expect(refused.type).toContain('application/problem+json');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.text).not.toMatch(/select|insert|postgres:\/\//i);

      // A decision the process took just as the database went away: its write retries with backoff.
      const approve = await s.env.client.workflow.getHandle(merchantReviewWorkflowId(id))
        .startUpdate(approveUpdate, { args: [{ operatorId: operator.id }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      await new Promise((r) => setTimeout(r, 3_000));
      await s.proxy!.restore();
      expect(await approve.result()).toMatchObject({ status: 'approved' });
    } finally {
      await s.proxy!.restore().catch(() => undefined);
    }
    const after = await s.call('GET', `/v1/reviews/${id}`, { key: operator.key });
    expect(after.json).toMatchObject({ status: 'approved', decidedBy: operator.id });
  });

  it('a resubmission Temporal does not take in time answers 503 and keeps its staged revision; a client that reads before resending gets exactly one new round', async () => {
    const id = await openCase();
    expect((await s.call('POST', `/v1/reviews/${id}/reject`, { key: operator.key, body: { reasons: ['logo is missing'] } })).status).toBe(200);
    const revisions = async () => s.db.select().from(applicationRevisions).where(eq(applicationRevisions.applicationId, id));
    // The worker stops while the case is idle: an activity task handed to a worker at the moment it stops (here the
    // rejection's notification) is only retried after its start-to-close timeout, and the round would wait for it.
    const wf = s.env.client.workflow.getHandle(merchantReviewWorkflowId(id));
    await eventually(() => wf.describe(), (d) => !d.raw.pendingActivities?.length, 'the rejection\'s activities');
    await s.stopWorker();
    let body: Record<string, unknown>;
    try {
      body = { ...(await s.call('GET', `/v1/merchant-applications/${id}`, { key: applicant.key })).json.application, logoUrl: 'https://acme.example.com/logo-v2.png' };
      const { r: late, ms } = await timed(() => s.call('POST', `/v1/merchant-applications/${id}/resubmit`, { key: applicant.key, body }));
      expect(late.status).toBe(503);
      expect(late.headers.get('retry-after')).not.toBeNull();
      expect(ms).toBeLessThan(10_000);
      // Not a refusal: the workflow may still take the Update, so the staged revision stays.
      expect(await revisions()).toHaveLength(1);
    } finally {
      await s.startWorker();
    }
    // Temporal keeps an Update it has not accepted only while someone waits on it (decision 023): the process
    // takes the first one or it is gone. The client does what the 503 says: it reads, and resends while it
    // still reads "rejected". Either way the case gets one new round, with the new logo, never two.
    const resends: number[] = [];
    const done = await eventually(async () => {
      const r = await s.call('GET', `/v1/merchant-applications/${id}`, { key: applicant.key });
      if (r.json.status === 'rejected' && resends.length < 5) {
        resends.push((await s.call('POST', `/v1/merchant-applications/${id}/resubmit`, { key: applicant.key, body: body! })).status);
        await new Promise((res) => setTimeout(res, 2_000));
      }
      return r;
    }, (r) => r.json.round === 2, 'round 2').catch(async (e) => {
      // What CI needs to tell a lost Update from a slow activity: the resends' answers and the pending work.
      const d = await s.env.client.workflow.getHandle(merchantReviewWorkflowId(id)).describe();
      throw new Error(`${(e as Error).message}; resends ${JSON.stringify(resends)}; pending ${JSON.stringify(d.raw.pendingActivities?.map((p) => [p.activityType?.name, p.attempt, p.lastFailure?.message]))}`);
    });
    expect(resends.every((status) => [200, 409, 503].includes(status))).toBe(true);
    expect(done.json).toMatchObject({ status: 'pending', round: 2, application: { logoUrl: 'https://acme.example.com/logo-v2.png' } });
    // A refused resubmission (the case is pending now) deletes what it staged; a lost one leaves its staged row, never a round.
    const staged = (await revisions()).length;
    expect(staged).toBeGreaterThanOrEqual(1);
    expect(staged).toBeLessThanOrEqual(1 + resends.length);
    expect((await s.call('POST', `/v1/merchant-applications/${id}/resubmit`, { key: applicant.key, body: body! })).status).toBe(409);
    expect(await revisions()).toHaveLength(staged);
    expect((await s.call('GET', `/v1/merchant-applications/${id}`, { key: applicant.key })).json.round).toBe(2);
  });
});
