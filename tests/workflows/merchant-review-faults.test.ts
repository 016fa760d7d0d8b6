import { WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stuckProcesses } from '../../db/schema';
import { FAILURE } from '../../workflows/failure-types';
import { approveUpdate, DECISION_REFUSED, rejectUpdate, reviewStateQuery } from '../../workflows/merchant-review-messages';
import { retryStuckUpdate, STUCK_SA, stuckQuery } from '../../workflows/stuck-messages';
import { expectHistoryWithin } from '../support/history';
import { startReviewHarness, type ReviewHarness } from '../support/review-harness';

let h: ReviewHarness;
beforeAll(async () => {
  h = await startReviewHarness();
  await h.startWorker();
  await h.useCalendar([]);
});
afterAll(async () => h?.close());

const until = async (pred: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 300; i++) { if (await pred()) return; await new Promise((r) => setTimeout(r, 50)); }
  throw new Error(`timed out waiting for ${what}`);
};
/** Faults injected below the API and the activities: PostgreSQL itself refuses the write. */
const inject = (name: string, table: string, when: string, errcode: string) => h.db.execute(sql.raw(`
  create or replace function ${name}() returns trigger language plpgsql as $$
  begin if ${when} then raise exception 'injected fault' using errcode = '${errcode}'; end if; return new; end $$;
  create trigger ${name} before insert or update on ${table} for each row execute function ${name}();`));
const heal = (name: string, table: string) => h.db.execute(sql.raw(`drop trigger ${name} on ${table}`));
const opened = async (handle: Awaited<ReturnType<ReviewHarness['openCase']>>['handle']) =>
  until(async () => (await handle.query(reviewStateQuery)).deadline !== null, 'the deadline');

describe('merchant review: poison input and our own faults', () => {
  it('a reject the database refuses (22P05) is refused with a reason at once, the case stays open, and nothing of the SQL is stored', async () => {
    await inject('poison_reason', 'merchant_applications', `new.reasons::text like '%POISON%'`, '22P05');
    try {
      const { id, handle } = await h.openCase();
      await opened(handle);
      const started = Date.now();
      const refused = await handle.executeUpdate(rejectUpdate, { args: [{ operatorId: h.operator, reasons: ['POISON lilei@acme.example.com'] }] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((refused as WorkflowUpdateFailedError).cause).toMatchObject({ type: DECISION_REFUSED });
      expect((refused as Error & { cause: Error }).cause.message).toContain('22P05');
      // No retries: the activity failed once, non-retryable.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect((await h.application(id)).status).toBe('pending');
      expect((await handle.query(reviewStateQuery)).status).toBe('pending');

      // The failure Temporal keeps (the Web UI shows it) names the error class, not the statement or the values.
      const failures = ((await handle.fetchHistory()).events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
      expect(failures).toHaveLength(1);
      const stored = JSON.stringify(failures[0]!.activityTaskFailedEventAttributes!.failure);
      expect(stored).toContain(FAILURE.dataRejected);
      expect(stored).not.toMatch(/POISON|lilei|update "merchant_applications"|params/i);

      // The case is not locked: the next decision goes through.
      const approved = await handle.executeUpdate(approveUpdate, { args: [{ operatorId: h.operator }] });
      expect(approved.status).toBe('approved');
      await expectHistoryWithin(h.env.client, handle, 100);
    } finally {
      await heal('poison_reason', 'merchant_applications');
    }
  });

  it('our own fault (a constraint refuses the new seller) makes the case stuck for operators; once fixed, an operator retry delivers the decision', async () => {
    await inject('broken_merchants', 'merchants', 'true', '23514');
    let healed = false;
    try {
      const { id, handle } = await h.openCase();
      await opened(handle);
      const approve = await handle.startUpdate(approveUpdate, { args: [{ operatorId: h.operator }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      await until(async () => (await handle.query(stuckQuery)) !== null, 'stuck');
      expect(await handle.query(stuckQuery)).toMatchObject({ step: 'approve', failureType: FAILURE.constraintViolated });

      const attrs = (await handle.describe()).typedSearchAttributes;
      expect(attrs.get(STUCK_SA.stuck)).toBe(true);
      expect(attrs.get(STUCK_SA.reason)).toBe(FAILURE.constraintViolated);
      const [row] = await h.db.select().from(stuckProcesses).where(eq(stuckProcesses.workflowId, handle.workflowId));
      expect(row).toMatchObject({ workflowType: 'merchantReview', subjectId: id, step: 'approve', failureType: FAILURE.constraintViolated, resolvedAt: null });
      await until(async () => h.inbox.mails.some((m) => m.to.includes('supervisor@marketplace.local') && m.subject.includes('stuck') && m.subject.includes(handle.workflowId)), 'the supervisors\' alert');
      // Nothing decided, nothing told to the applicant.
      expect((await h.application(id)).status).toBe('pending');
      expect(h.inbox.mails.some((m) => m.subject.includes(id) && m.subject.includes('approved'))).toBe(false);

      // A retry before the fix fails again and says so.
      expect(await handle.executeUpdate(retryStuckUpdate, { args: [{ operatorId: h.operator }] })).toMatchObject({ resolved: false, stuck: { step: 'approve' } });

      await heal('broken_merchants', 'merchants');
      healed = true;
      expect(await handle.executeUpdate(retryStuckUpdate, { args: [{ operatorId: h.operator }] })).toEqual({ resolved: true, stuck: null });
      expect(await approve.result()).toMatchObject({ status: 'approved' });
      expect((await h.application(id)).status).toBe('approved');
      expect((await handle.describe()).typedSearchAttributes.get(STUCK_SA.stuck)).toBe(false);
      const [after] = await h.db.select().from(stuckProcesses).where(eq(stuckProcesses.workflowId, handle.workflowId));
      expect(after).toMatchObject({ resolvedBy: h.operator });
      expect(after!.resolvedAt).not.toBeNull();
      // A process that is not stuck refuses a retry.
      await expect(handle.executeUpdate(retryStuckUpdate, { args: [{ operatorId: h.operator }] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    } finally {
      if (!healed) await heal('broken_merchants', 'merchants');
    }
  });

  it('a stuck case resumes by itself at the next re-check once the cause is gone', async () => {
    await inject('broken_merchants', 'merchants', 'true', '23514');
    const { id, handle } = await h.openCase();
    await opened(handle);
    const approve = await handle.startUpdate(approveUpdate, { args: [{ operatorId: h.operator }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    await until(async () => (await handle.query(stuckQuery)) !== null, 'stuck');
    await heal('broken_merchants', 'merchants');
    // The first re-check comes 5 minutes later.
    await h.env.sleep(6 * 60_000);
    expect(await approve.result()).toMatchObject({ status: 'approved' });
    expect((await h.application(id)).status).toBe('approved');
    const [row] = await h.db.select().from(stuckProcesses).where(eq(stuckProcesses.workflowId, handle.workflowId));
    expect(row).toMatchObject({ resolvedBy: 'recheck' });
  });

  it('every Query and Update of a case and of a provisioning run says what it does (the Web UI shows it)', async () => {
    const { handle } = await h.openCase();
    await opened(handle);
    const provisioning = await h.env.client.workflow.start('saasProvision', {
      taskQueue: h.config.TEMPORAL_TASK_QUEUE, workflowId: 'saas-provision:described',
      args: [{ orderLineId: 'no-such-line', merchantId: 'M', productId: 'P', retryIntervalMs: 180_000, retryWindowMs: 10_800_000, pollIntervalMs: 30_000, pollWindowMs: 10_800_000, idleAction: 'refund' as const, idleMs: 604_800_000 }],
    });
    for (const [h2, expected] of [[handle, ['approve', 'reject', 'resubmit', 'retryStuck']], [provisioning, ['restart', 'deliverManually', 'cancel', 'retryStuck']]] as const) {
      const meta = await h2.query<{ definition: { queryDefinitions: { name: string; description?: string }[]; updateDefinitions: { name: string; description?: string }[] } }>('__temporal_workflow_metadata');
      const defs = [...meta.definition.queryDefinitions, ...meta.definition.updateDefinitions].filter((d) => !d.name.startsWith('__'));
      expect(defs.map((d) => d.name)).toEqual(expect.arrayContaining([...expected, 'state', 'stuck']));
      for (const d of defs) expect(d.description, `${h2.workflowId} ${d.name}`).toMatch(/\w{3,}/);
    }
    await provisioning.terminate('test over');
  });
});
