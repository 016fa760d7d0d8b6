import { activityInfo, heartbeat } from '@temporalio/activity';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, inArray, isNotNull, lt } from 'drizzle-orm';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { merchantApplications, orderLines, products, stuckProcesses } from '../db/schema';
import { FAILURE } from '../workflows/failure-types';
import { provisionStartOptions, saasProvisionWorkflowId } from '../workflows/saas-provision-messages';
import { merchantReviewWorkflowId } from '../workflows/merchant-review-messages';
import { supervisionWorkflowId } from '../workflows/supervision-messages';

/** Failure type of a row whose workflow closed while the row is still open (the operators' list shows it). */
export const WORKFLOW_CLOSED = 'WorkflowClosed';

export interface ReconcileResult { checked: number; repaired: string[]; flagged: string[] }

/**
 * The reconciliation (docs/durable-patterns.md): rows that are open in the database while their workflow is
 * closed, failed, terminated or gone. A paid order line gets a new provisioning run (the seller is asked again
 * with the same order ids, which it answers idempotently); anything else is flagged for operators, supervised
 * lines too (their flow has appeals and an operation log: a person decides how it goes on; they are never provisioned).
 */
export function createReconcileActivities({ db, config, temporal }: { db: Db; config: Config; temporal?: Client }) {
  async function statusOf(workflowId: string): Promise<string> {
    try {
      return (await temporal!.withDeadline(Date.now() + 10_000, () => temporal!.workflow.getHandle(workflowId).describe())).status.name;
    } catch (e) {
      if ((e as Error).name === 'WorkflowNotFoundError') return 'NOT_FOUND';
      throw e;
    }
  }

  /** Writes a row for operators; an open one is left as it is, a resolved one is reopened. */
  async function flag(r: { workflowId: string; workflowType: string; subjectId: string; message: string; resolvedBy?: string }) {
    const now = new Date();
    const row = {
      workflowType: r.workflowType, subjectId: r.subjectId, step: 'reconciliation', failureType: WORKFLOW_CLOSED, message: r.message,
      since: now, nextCheckAt: null, rechecks: 0, updatedAt: now, resolvedAt: r.resolvedBy ? now : null, resolvedBy: r.resolvedBy ?? null,
    };
    await db.insert(stuckProcesses).values({ workflowId: r.workflowId, ...row })
      .onConflictDoUpdate({ target: stuckProcesses.workflowId, set: row, where: isNotNull(stuckProcesses.resolvedAt) });
  }

  return {
    async reconcileOpenRows(a: { graceMs: number; limit: number }): Promise<ReconcileResult> {
      if (!temporal) throw ApplicationFailure.nonRetryable('the worker has no Temporal client for the reconciliation', FAILURE.configMissing);
      const before = new Date(Date.now() - a.graceMs);
      const lines = await db.select({ line: orderLines }).from(orderLines).innerJoin(products, eq(products.id, orderLines.productId))
        .where(and(eq(orderLines.status, 'processing'), eq(products.deliveryType, 'saas'), eq(products.supervised, false), isNotNull(orderLines.workflowStartedAt), lt(orderLines.workflowStartedAt, before)))
        .limit(a.limit);
      const supervised = await db.select({ line: orderLines }).from(orderLines).innerJoin(products, eq(products.id, orderLines.productId))
        .where(and(eq(orderLines.status, 'processing'), eq(products.supervised, true), isNotNull(orderLines.workflowStartedAt), lt(orderLines.workflowStartedAt, before)))
        .limit(a.limit);
      const cases = await db.select().from(merchantApplications)
        .where(and(inArray(merchantApplications.status, ['pending', 'rejected']), isNotNull(merchantApplications.workflowStartedAt), lt(merchantApplications.workflowStartedAt, before)))
        .limit(a.limit);
      const out: ReconcileResult = { checked: 0, repaired: [], flagged: [] };
      // A retried activity starts where the last heartbeat left off.
      const done = new Set<string>(activityInfo().heartbeatDetails ?? []);

      for (const { line } of lines) {
        const workflowId = saasProvisionWorkflowId(line.id);
        if (done.has(workflowId)) continue;
        out.checked++;
        const status = await statusOf(workflowId);
        if (status === 'RUNNING') { done.add(workflowId); heartbeat([...done]); continue; }
        if (status === 'COMPLETED') {
          await flag({ workflowId, workflowType: 'saasProvision', subjectId: line.id, message: `the provisioning workflow completed but the order line is still ${line.status}` });
          out.flagged.push(workflowId);
        } else {
          // Failed, terminated, timed out, cancelled or gone: provisioning starts again for the paid line.
          await temporal.withDeadline(Date.now() + 10_000, () => temporal.workflow.start('saasProvision', {
            ...provisionStartOptions(line, config),
            workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY, workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
          }));
          await flag({ workflowId, workflowType: 'saasProvision', subjectId: line.id, message: `the provisioning workflow was ${status}; the reconciliation started it again`, resolvedBy: 'reconciliation' });
          out.repaired.push(workflowId);
        }
        done.add(workflowId);
        heartbeat([...done]);
      }

      // A review has rounds, deadlines and a history of decisions, a supervision its stages, appeals and log:
      // a person decides how to go on.
      const forOperators = [
        ...cases.map((c) => ({ workflowId: merchantReviewWorkflowId(c.id), workflowType: 'merchantReview', subjectId: c.id, what: `the review workflow is %s while the case is ${c.status}` })),
        ...supervised.map(({ line }) => ({ workflowId: supervisionWorkflowId(line.id), workflowType: 'supervision', subjectId: line.id, what: 'the supervision workflow is %s while the order line is processing' })),
      ];
      for (const c of forOperators) {
        if (done.has(c.workflowId)) continue;
        out.checked++;
        const status = await statusOf(c.workflowId);
        if (status !== 'RUNNING') {
          await flag({ workflowId: c.workflowId, workflowType: c.workflowType, subjectId: c.subjectId, message: c.what.replace('%s', status) });
          out.flagged.push(c.workflowId);
        }
        done.add(c.workflowId);
        heartbeat([...done]);
      }
      return out;
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
