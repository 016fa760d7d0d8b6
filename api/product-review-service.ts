import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { and, asc, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { safeError } from '../observability/safe-error';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { imageAssets, imageAssetVersions, productApplicationRevisions, productApplications, productReviewEvents } from '../db/schema';
import { markStarted, notStarted, SWEEP_GRACE_MS } from '../db/workflow-started';
import { newId } from '../domain/ids';
import { shanghaiDate } from '../domain/working-days';
import { SA } from '../workflows/merchant-review-messages';
import {
  approveReleaseUpdate, productReviewWorkflowId, rejectReleaseUpdate, resubmitReleaseUpdate, type ProductReviewInput,
} from '../workflows/product-review-messages';
import type { Principal } from './auth';
import { type PageQuery } from './pagination';
import { caseUpdates, historyView, iso, resubmitStaged, reviewQueuePages } from './review-cases';
import { conflict, notFound } from './problem';
import { withTemporalDeadline } from './updates';

type Application = typeof productApplications.$inferSelect;
export const pages = reviewQueuePages<Application>(productApplications);

export function releaseView(a: Application, history?: (typeof productReviewEvents.$inferSelect)[]) {
  return {
    id: a.id, merchantId: a.merchantId, status: a.status, overdue: a.overdue, round: a.round, filedDay: a.filedDay,
    openedAt: a.openedAt.toISOString(), deadline: iso(a.deadline), decidedAt: iso(a.decidedAt), decidedBy: a.decidedBy,
    reasons: a.reasons ?? null, productId: a.productId, workflowId: a.workflowId, application: a.payload,
    ...(history ? { history: historyView(history) } : {}),
  };
}

/**
 * Release applications of image products as the API drives them: filed by a seller for an approved image
 * version, reviewed by operators through the product-review workflow (the same review machinery as seller
 * onboarding), resubmitted into the same case after a rejection. The row is the record (decision 008).
 */
export function createProductReviewService({ db, temporal, config, logger }: { db: Db; temporal: Client; config: Config; logger?: Logger }) {
  const handle = (id: string) => temporal.workflow.getHandle(productReviewWorkflowId(id));

  async function start(app: Application) {
    const input: ProductReviewInput = {
      applicationId: app.id, merchantId: app.merchantId, workingDays: config.REVIEW_WORKING_DAYS,
      extensionDays: config.PRODUCT_REVIEW_EXTENSION_DAYS, busyThreshold: config.PRODUCT_REVIEW_BUSY_THRESHOLD,
      resubmitWindowDays: config.RESUBMIT_WINDOW_DAYS, openedAt: app.openedAt.toISOString(),
    };
    try {
      await withTemporalDeadline(temporal, () => temporal.workflow.start('productReview', {
        workflowId: app.workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `Image product release review ${app.id}`,
        typedSearchAttributes: [{ key: SA.status, value: 'pending' }, { key: SA.kind, value: 'release' }, { key: SA.merchantId, value: app.merchantId }],
      }));
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    await markStarted(db, productApplications, app.id, new Date());
  }

  async function get(id: string) {
    const [a] = await db.select().from(productApplications).where(eq(productApplications.id, id));
    return a;
  }
  async function visible(p: Principal, id: string) {
    const a = await get(id);
    if (!a || !(p.role === 'operator' || (p.role === 'seller' && p.merchantId === a.merchantId))) throw notFound(`release application ${id}`);
    return a;
  }
  /** The seller's own approved image version, or a clear refusal. */
  async function approvedVersion(p: Principal, assetId: string, version: string) {
    const [row] = await db.select({ v: imageAssetVersions, merchantId: imageAssets.merchantId }).from(imageAssetVersions)
      .innerJoin(imageAssets, eq(imageAssets.id, imageAssetVersions.assetId))
      .where(and(eq(imageAssetVersions.assetId, assetId), eq(imageAssetVersions.version, version)));
    if (!row || row.merchantId !== p.merchantId) throw notFound(`version ${version} of asset ${assetId}`);
    if (row.v.status !== 'approved') throw conflict(`version ${version} of asset ${assetId} is ${row.v.status}; only an approved image can be released`);
    return row.v;
  }
  const update = caseUpdates({ temporal, what: 'release application', handle, get, start });

  return {
    get, visible,
    history: (id: string) => db.select().from(productReviewEvents).where(eq(productReviewEvents.applicationId, id)).orderBy(asc(productReviewEvents.at), asc(productReviewEvents.id)),

    async file(p: Principal, body: { assetId: string; version: string } & Record<string, unknown>) {
      const v = await approvedVersion(p, body.assetId, body.version);
      const id = newId('PA');
      const now = new Date();
      const [app] = await db.insert(productApplications).values({
        id, merchantId: p.merchantId!, applicantPrincipalId: p.id, imageVersionId: v.id, payload: body, status: 'pending',
        filedDay: shanghaiDate(now), openedAt: now, workflowId: productReviewWorkflowId(id),
      }).returning();
      await start(app!).catch((e: unknown) => logger?.warn({ applicationId: id, err: safeError(e) }, 'review not started; the sweep will start it'));
      return (await get(id))!;
    },

    async sweep(graceMs = SWEEP_GRACE_MS) {
      const rows = await db.select().from(productApplications).where(notStarted(productApplications, graceMs)).limit(100);
      for (const a of rows) await start(a);
      return rows.length;
    },

    /** Pending cases earliest deadline first, decided ones most recent decision first. */
    queue: (status: Application['status'], q: PageQuery) => (status === 'pending' ? pages.pending : pages.decided).read(q, ({ after, orderBy, limit }) =>
      db.select().from(productApplications).where(and(eq(productApplications.status, status), after)).orderBy(...orderBy).limit(limit)),

    approve: (id: string, operatorId: string, note?: string) => update(id, approveReleaseUpdate, [{ operatorId, ...(note ? { note } : {}) }]),
    reject: (id: string, operatorId: string, reasons: string[]) => update(id, rejectReleaseUpdate, [{ operatorId, reasons }]),

    /** Stages the edited application, then the workflow takes it as the case's next round. */
    async resubmit(p: Principal, app: Application, body: { assetId: string; version: string } & Record<string, unknown>) {
      if (app.status !== 'rejected') throw conflict(`release application ${app.id} is ${app.status}; only a rejected one can be resubmitted`);
      const v = await approvedVersion(p, body.assetId, body.version);
      if (v.id !== app.imageVersionId) await db.update(productApplications).set({ imageVersionId: v.id }).where(eq(productApplications.id, app.id));
      return resubmitStaged({
        revisionId: newId('RV'),
        stage: (id) => db.insert(productApplicationRevisions).values({ id, applicationId: app.id, payload: body }),
        unstage: (id) => db.delete(productApplicationRevisions).where(eq(productApplicationRevisions.id, id)),
        send: (revisionId) => update(app.id, resubmitReleaseUpdate, [{ applicantId: p.id, revisionId }]),
      });
    },
  };
}

export type ProductReviewService = ReturnType<typeof createProductReviewService>;
