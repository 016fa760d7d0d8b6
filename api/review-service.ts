import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { isUniqueViolation } from '../db/errors';
import { applicationRevisions, merchantApplications, merchants, reviewEvents } from '../db/schema';
import { idFromKey, newId } from '../domain/ids';
import {
  approveUpdate, merchantReviewWorkflowId, rejectUpdate, resubmitUpdate, SA,
  type MerchantReviewInput, type ReviewKind,
} from '../workflows/merchant-review-messages';
import type { Principal } from './auth';
import { conflict, notFound, Problem } from './problem';
import { runUpdate } from './updates';

type Application = typeof merchantApplications.$inferSelect;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toView(app: Application, history?: (typeof reviewEvents.$inferSelect)[]) {
  return {
    id: app.id, kind: app.kind, status: app.status, overdue: app.overdue, round: app.round,
    openedAt: app.openedAt.toISOString(), deadline: iso(app.deadline), decidedAt: iso(app.decidedAt), decidedBy: app.decidedBy,
    reasons: app.reasons ?? null, merchantId: app.merchantId, workflowId: app.workflowId, application: app.payload,
    ...(history ? { history: history.map((e) => ({ type: e.type, round: e.round, actor: e.actor, at: e.at.toISOString(), data: e.data })) } : {}),
  };
}

/** The merchant-review process as the API drives it: database rows first, then the workflow. */
export function createReviewService({ db, temporal, config }: { db: Db; temporal: Client; config: Config }) {
  const handle = (id: string) => temporal.workflow.getHandle(merchantReviewWorkflowId(id));

  async function startWorkflow(app: Application) {
    const input: MerchantReviewInput = {
      applicationId: app.id, kind: app.kind, ...(app.merchantId ? { merchantId: app.merchantId } : {}),
      workingDays: config.REVIEW_WORKING_DAYS, resubmitWindowDays: config.RESUBMIT_WINDOW_DAYS,
    };
    // USE_EXISTING: a retried request finds the running case instead of failing or starting a second one.
    await temporal.workflow.start('merchantReview', {
      workflowId: app.workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      staticSummary: `${app.kind === 'onboarding' ? 'Seller onboarding' : 'Seller information change'} review ${app.id}`,
      typedSearchAttributes: [
        { key: SA.status, value: 'pending' }, { key: SA.kind, value: app.kind },
        ...(app.merchantId ? [{ key: SA.merchantId, value: app.merchantId }] : []),
      ],
    });
  }

  /** A replayed request: make sure an open case's workflow runs (a crash may have come between row and start). */
  async function ensureRunning(app: Application) {
    if (app.status !== 'pending' && app.status !== 'rejected') return;
    try {
      await startWorkflow(app);
    } catch (e) {
      // A closed run under this id means the case already finished: nothing to restart.
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
  }

  /** Inserts the case, then starts its workflow; a failed start removes the row so nothing half-made stays. */
  async function open(app: typeof merchantApplications.$inferInsert): Promise<Application> {
    let row: Application;
    try {
      [row] = (await db.insert(merchantApplications).values(app).returning()) as [Application];
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw conflict(app.kind === 'onboarding' ? 'this company already has an open application' : 'this seller already has an open change request');
      }
      throw e;
    }
    try {
      await startWorkflow(row);
    } catch (e) {
      await db.delete(merchantApplications).where(eq(merchantApplications.id, row.id));
      throw new Problem(503, 'Service Unavailable', `the review process could not start: ${(e as Error).message}`);
    }
    return row;
  }

  async function get(id: string): Promise<Application | undefined> {
    const [app] = await db.select().from(merchantApplications).where(eq(merchantApplications.id, id));
    return app;
  }

  /** A case the caller may see: operators see all, others only their own (anything else is 404, not 403). */
  async function visible(p: Principal, id: string): Promise<Application> {
    const app = await get(id);
    const mine = app && (p.role === 'operator' || app.applicantPrincipalId === p.id || (p.role === 'seller' && app.merchantId !== null && app.merchantId === p.merchantId));
    if (!app || !mine) throw notFound(`application ${id}`);
    return app;
  }

  async function history(id: string) {
    return db.select().from(reviewEvents).where(eq(reviewEvents.applicationId, id)).orderBy(asc(reviewEvents.at), asc(reviewEvents.id));
  }

  const update = <T>(id: string, run: () => Promise<T>) => runUpdate(`application ${id}`, run);

  return {
    get, visible, history,

    async apply(p: Principal, body: Record<string, unknown> & { businessLicenceNo: string }, idempotencyKey?: string) {
      const id = idempotencyKey ? idFromKey('MA', p.id, idempotencyKey) : newId('MA');
      const existing = await get(id);
      if (existing) {
        await ensureRunning(existing);
        return { app: existing, created: false };
      }
      // Spec §5.1: a company that is already onboarded does not apply again.
      const [seller] = await db.select({ id: merchants.id }).from(merchants)
        .where(sql`${merchants.profile}->>'businessLicenceNo' = ${body.businessLicenceNo}`);
      if (seller) throw conflict(`this company is already a seller (${seller.id})`);
      const app = await open({
        id, kind: 'onboarding', applicantPrincipalId: p.id, licenceNo: body.businessLicenceNo, status: 'pending',
        payload: body, openedAt: new Date(), workflowId: merchantReviewWorkflowId(id),
      });
      return { app, created: true };
    },

    async requestChange(p: Principal, merchantId: string, business: Record<string, unknown>, idempotencyKey?: string) {
      const [merchant] = await db.select().from(merchants).where(eq(merchants.id, merchantId));
      if (!merchant) throw notFound(`merchant ${merchantId}`);
      const id = idempotencyKey ? idFromKey('MA', p.id, idempotencyKey) : newId('MA');
      const existing = await get(id);
      if (existing) {
        await ensureRunning(existing);
        return existing;
      }
      return open({
        id, kind: 'change', applicantPrincipalId: p.id, merchantId, licenceNo: String(merchant.profile.businessLicenceNo ?? ''),
        status: 'pending', payload: business, openedAt: new Date(), workflowId: merchantReviewWorkflowId(id),
      });
    },

    async queue(q: { status: Application['status']; overdue?: boolean; kind?: ReviewKind; limit: number; offset: number }) {
      const where = and(
        eq(merchantApplications.status, q.status),
        q.overdue === undefined ? undefined : eq(merchantApplications.overdue, q.overdue),
        q.kind ? eq(merchantApplications.kind, q.kind) : undefined,
      );
      // Open cases come earliest deadline first; closed ones most recent decision first.
      const order = q.status === 'pending'
        ? [sql`${merchantApplications.deadline} asc nulls last`, asc(merchantApplications.openedAt)]
        : [desc(merchantApplications.decidedAt)];
      return db.select().from(merchantApplications).where(where).orderBy(...order).limit(q.limit).offset(q.offset);
    },

    approve: (id: string, operatorId: string, note?: string) =>
      update(id, () => handle(id).executeUpdate(approveUpdate, { args: [{ operatorId, ...(note ? { note } : {}) }] })),

    reject: (id: string, operatorId: string, reasons: string[]) =>
      update(id, () => handle(id).executeUpdate(rejectUpdate, { args: [{ operatorId, reasons }] })),

    /** Stages the new version of the application, then asks the workflow to take it as its next round. */
    async resubmit(p: Principal, app: Application, payload: Record<string, unknown>) {
      if (app.status !== 'rejected') throw conflict(`application ${app.id} is ${app.status}; only a rejected application can be resubmitted`);
      const revisionId = newId('RV');
      await db.insert(applicationRevisions).values({ id: revisionId, applicationId: app.id, payload });
      try {
        await update(app.id, () => handle(app.id).executeUpdate(resubmitUpdate, { args: [{ applicantId: p.id, revisionId }] }));
      } catch (e) {
        await db.delete(applicationRevisions).where(eq(applicationRevisions.id, revisionId));
        throw e;
      }
    },
  };
}

export type ReviewService = ReturnType<typeof createReviewService>;
