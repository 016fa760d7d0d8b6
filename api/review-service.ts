import { safeError } from '../observability/safe-error';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { isUniqueViolation } from '../db/errors';
import { insertUnless } from '../db/insert-unless';
import { applicationRevisions, merchantApplications, merchants, reviewEvents } from '../db/schema';
import { idFromKey, newId } from '../domain/ids';
import {
  approveUpdate, merchantReviewWorkflowId, rejectUpdate, resubmitUpdate, type ReviewKind,
} from '../workflows/merchant-review-messages';
import type { Principal } from './auth';
import { type PageQuery } from './pagination';
import { caseUpdates, historyView, iso, resubmitStaged, reviewQueuePages } from './review-cases';
import { conflict, notFound } from './problem';
import { createReviewIntake, type ReviewIntake } from './review-intake';

type Application = typeof merchantApplications.$inferSelect;
export const pages = reviewQueuePages<Application>(merchantApplications);

export function toView(app: Application, history?: (typeof reviewEvents.$inferSelect)[]) {
  return {
    id: app.id, kind: app.kind, status: app.status, overdue: app.overdue, round: app.round,
    openedAt: app.openedAt.toISOString(), deadline: iso(app.deadline), decidedAt: iso(app.decidedAt), decidedBy: app.decidedBy,
    reasons: app.reasons ?? null, merchantId: app.merchantId, workflowId: app.workflowId, workflowStartedAt: iso(app.workflowStartedAt),
    application: app.payload,
    ...(history ? { history: historyView(history) } : {}),
  };
}

/**
 * The merchant-review process as the API drives it. A case is accepted when its row commits; its
 * workflow is started right after, or by the intake sweep (api/review-intake.ts).
 */
export function createReviewService({ db, temporal, config, logger, intake = createReviewIntake({ db, temporal, config, logger }) }: {
  db: Db; temporal: Client; config: Config; logger?: Logger; intake?: ReviewIntake;
}) {
  const handle = (id: string) => temporal.workflow.getHandle(merchantReviewWorkflowId(id));

  /**
   * Starts an open case's workflow if it may not run yet (a replayed request, or the first start). If
   * Temporal cannot take it now the case still stands: the intake sweep starts it. Returns when it started.
   */
  async function ensureRunning(app: Application, opts: { markLater?: boolean } = {}): Promise<Date | null> {
    if (app.status !== 'pending' && app.status !== 'rejected') return app.workflowStartedAt;
    return intake.start(app, opts).catch((e: unknown) => {
      logger?.warn({ applicationId: app.id, err: safeError(e) }, 'review workflow not started; the intake sweep will start it');
      return app.workflowStartedAt;
    });
  }

  /**
   * Accepts a case: one statement checks the company and writes the row (a second open case for
   * the same company or seller is refused by a unique index), then its workflow starts.
   */
  async function open(app: typeof merchantApplications.$inferInsert): Promise<{ app: Application; created: boolean }> {
    // Spec §5.1: a company that is already onboarded does not apply again.
    const sameCompany = sql`${merchants.profile}->>'businessLicenceNo' = ${app.licenceNo}`;
    const seller = app.kind === 'onboarding' ? sql`select 1 from ${merchants} where ${sameCompany}` : sql`select 1 where false`;
    let row: Application | undefined;
    try {
      // A request with the same Idempotency-Key racing this one may have written the id first.
      [row] = await insertUnless(db, merchantApplications, app, seller).onConflictDoNothing({ target: merchantApplications.id }).returning();
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw conflict(app.kind === 'onboarding' ? 'this company already has an open application' : 'this seller already has an open change request');
      }
      throw e;
    }
    if (!row) {
      const existing = await get(app.id!);
      if (!existing) {
        const [s] = await db.select({ id: merchants.id }).from(merchants).where(sameCompany);
        throw conflict(`this company is already a seller (${s?.id ?? 'just approved'})`);
      }
      await ensureRunning(existing);
      return { app: existing, created: false };
    }
    // The workflow starts before the answer, so a 201 normally means the review runs; the row is the
    // durable record either way.
    return { app: { ...row, workflowStartedAt: await ensureRunning(row, { markLater: true }) }, created: true };
  }

  /** A request with an Idempotency-Key answers with the case that key opened; a fresh id has nothing to look up. */
  async function openOnce(p: Principal, idempotencyKey: string | undefined, make: (id: string) => typeof merchantApplications.$inferInsert) {
    if (!idempotencyKey) return open(make(newId('MA')));
    const id = idFromKey('MA', p.id, idempotencyKey);
    const existing = await get(id);
    if (existing) {
      await ensureRunning(existing);
      return { app: existing, created: false };
    }
    return open(make(id));
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

  const update = caseUpdates({ temporal, what: 'application', handle, get, start: (app: Application) => intake.start(app) });

  return {
    get, visible, history, intake,

    apply: (p: Principal, body: Record<string, unknown> & { businessLicenceNo: string }, idempotencyKey?: string) =>
      openOnce(p, idempotencyKey, (id) => ({
        id, kind: 'onboarding', applicantPrincipalId: p.id, licenceNo: body.businessLicenceNo, status: 'pending',
        payload: body, openedAt: new Date(), workflowId: merchantReviewWorkflowId(id),
      })),

    async requestChange(p: Principal, merchantId: string, business: Record<string, unknown>, idempotencyKey?: string) {
      const [merchant] = await db.select().from(merchants).where(eq(merchants.id, merchantId));
      if (!merchant) throw notFound(`merchant ${merchantId}`);
      const { app } = await openOnce(p, idempotencyKey, (id) => ({
        id, kind: 'change', applicantPrincipalId: p.id, merchantId, licenceNo: String(merchant.profile.businessLicenceNo ?? ''),
        status: 'pending', payload: business, openedAt: new Date(), workflowId: merchantReviewWorkflowId(id),
      }));
      return app;
    },

    async queue(q: { status: Application['status']; overdue?: boolean | undefined; kind?: ReviewKind | undefined } & PageQuery) {
      const where = and(
        eq(merchantApplications.status, q.status),
        q.overdue === undefined ? undefined : eq(merchantApplications.overdue, q.overdue),
        q.kind ? eq(merchantApplications.kind, q.kind) : undefined,
      );
      // Open cases come earliest deadline first; closed ones most recent decision first.
      return (q.status === 'pending' ? pages.pending : pages.decided).read(q, ({ after, orderBy, limit }) =>
        db.select().from(merchantApplications).where(and(where, after)).orderBy(...orderBy).limit(limit));
    },

    approve: (id: string, operatorId: string, note?: string) => update(id, approveUpdate, [{ operatorId, ...(note ? { note } : {}) }]),

    reject: (id: string, operatorId: string, reasons: string[]) => update(id, rejectUpdate, [{ operatorId, reasons }]),

    /** Stages the new version of the application, then asks the workflow to take it as its next round (api/review-cases.ts). */
    async resubmit(p: Principal, app: Application, payload: Record<string, unknown>) {
      if (app.status !== 'rejected') throw conflict(`application ${app.id} is ${app.status}; only a rejected application can be resubmitted`);
      return resubmitStaged({
        revisionId: newId('RV'),
        stage: (id) => db.insert(applicationRevisions).values({ id, applicationId: app.id, payload }),
        unstage: (id) => db.delete(applicationRevisions).where(eq(applicationRevisions.id, id)),
        send: (revisionId) => update(app.id, resubmitUpdate, [{ applicantId: p.id, revisionId }]),
      });
    },
  };
}

export type ReviewService = ReturnType<typeof createReviewService>;
