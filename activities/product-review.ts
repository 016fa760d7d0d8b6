import { ApplicationFailure } from '@temporalio/common';
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { loadWorkingCalendar } from '../db/calendar';
import { imageAssetVersions, productApplicationRevisions, productApplications, productReviewEvents, products, skus } from '../db/schema';
import { releaseReviewWorkingDays, type ReleaseReviewRule } from '../domain/release-review';
import { shanghaiDate, workingDayDeadline } from '../domain/working-days';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type Ref = { applicationId: string; round: number; at: number };

export interface Pricing { mode: 'free' | 'period' | 'usage'; monthlyCents?: number; yearlyCents?: number; hourlyCents?: number }

/** The product an approved application lists: its id follows from the application's, so a retry finds it. */
export const productIdForApplication = (applicationId: string) => `PR${applicationId.replace(/^PA/, '')}`;

async function event(tx: Tx | Db, e: Ref & { key: string; type: string; actor?: string; data?: Record<string, unknown> }) {
  await tx.insert(productReviewEvents).values({
    applicationId: e.applicationId, eventKey: e.key, type: e.type, round: e.round, actor: e.actor ?? null, data: e.data ?? {}, at: new Date(e.at),
  }).onConflictDoNothing();
}

/**
 * Database side of the product-review workflow: the same steps as seller onboarding's (activities/review.ts),
 * on release applications. Every function is idempotent under retries.
 */
export function createProductReviewActivities({ db }: { db: Db }) {
  return {
    /** Opens a round: N working days, one more when the seller filed 10 or more applications that day (the count includes this one). */
    async openProductRound(a: { applicationId: string; round: number; openedAt: number; rule: ReleaseReviewRule }): Promise<{ deadline: number }> {
      return db.transaction(async (tx) => {
        const key = `r${a.round}:opened`;
        const [done] = await tx.select({ data: productReviewEvents.data }).from(productReviewEvents)
          .where(and(eq(productReviewEvents.applicationId, a.applicationId), eq(productReviewEvents.eventKey, key)));
        if (done) return { deadline: Number(done.data.deadline) };
        const [app] = await tx.select().from(productApplications).where(eq(productApplications.id, a.applicationId));
        if (!app) throw ApplicationFailure.nonRetryable(`release application ${a.applicationId} not found`, 'ApplicationNotFound');
        const day = shanghaiDate(new Date(a.openedAt));
        const [{ n }] = (await tx.select({ n: sql<number>`count(*)::int` }).from(productApplications)
          .where(and(eq(productApplications.merchantId, app.merchantId), eq(productApplications.filedDay, day), lte(productApplications.createdAt, app.createdAt)))) as [{ n: number }];
        const workingDays = releaseReviewWorkingDays(a.rule, n);
        const deadline = workingDayDeadline(new Date(a.openedAt), workingDays, await loadWorkingCalendar(tx as unknown as Db)).getTime();
        await tx.update(productApplications).set({ deadline: new Date(deadline), overdue: false, updatedAt: new Date(a.openedAt) })
          .where(and(eq(productApplications.id, a.applicationId), eq(productApplications.round, a.round)));
        await event(tx, { ...a, at: a.openedAt, key, type: 'round_opened', data: { deadline, workingDays, filedThatDay: n } });
        return { deadline };
      });
    },

    async markProductOverdue(a: Ref): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.update(productApplications).set({ overdue: true, updatedAt: new Date(a.at) })
          .where(and(eq(productApplications.id, a.applicationId), eq(productApplications.round, a.round), eq(productApplications.status, 'pending')));
        await event(tx, { ...a, key: `r${a.round}:overdue`, type: 'overdue' });
      });
    },

    /** Lists the product: an image product on sale, delivering the approved asset version, with SKUs from its pricing. */
    async approveProduct(a: Ref & { operatorId: string; note?: string }): Promise<{ productId: string }> {
      return db.transaction(async (tx) => {
        const [app] = await tx.select().from(productApplications).where(eq(productApplications.id, a.applicationId));
        if (!app) throw ApplicationFailure.nonRetryable(`release application ${a.applicationId} not found`, 'ApplicationNotFound');
        const productId = productIdForApplication(app.id);
        if (app.status === 'approved') return { productId };
        const [version] = await tx.select().from(imageAssetVersions).where(eq(imageAssetVersions.id, app.imageVersionId));
        if (version?.status !== 'approved') throw ApplicationFailure.nonRetryable(`the image version is ${version?.status ?? 'gone'}, not approved`, 'ImageNotApproved');
        const at = new Date(a.at);
        const p = app.payload as { name: string; description: string; pricing: Pricing };
        await tx.insert(products).values({
          id: productId, merchantId: app.merchantId, name: p.name, description: p.description, deliveryType: 'image', status: 'on_sale',
          imageVersionId: app.imageVersionId, releaseApplicationId: app.id, createdAt: at, updatedAt: at,
        }).onConflictDoNothing();
        const priced: { mode: 'yearly' | 'monthly' | 'one_time' | 'on_demand'; name: string; cents: number }[] =
          p.pricing.mode === 'free' ? [{ mode: 'one_time', name: 'Free', cents: 0 }]
            : p.pricing.mode === 'usage' ? [{ mode: 'on_demand', name: 'Per hour', cents: p.pricing.hourlyCents ?? 0 }]
              : [
                ...(p.pricing.monthlyCents !== undefined ? [{ mode: 'monthly' as const, name: 'Monthly', cents: p.pricing.monthlyCents }] : []),
                ...(p.pricing.yearlyCents !== undefined ? [{ mode: 'yearly' as const, name: 'Yearly', cents: p.pricing.yearlyCents }] : []),
              ];
        await tx.insert(skus).values(priced.map((s, i) => ({ id: `SK${productId.slice(2)}${i}`, productId, name: s.name, chargingMode: s.mode, periods: 1, priceCents: s.cents })))
          .onConflictDoNothing();
        await tx.update(productApplications).set({ status: 'approved', productId, decidedAt: at, decidedBy: a.operatorId, reasons: null, updatedAt: at })
          .where(eq(productApplications.id, a.applicationId));
        await event(tx, { ...a, key: `r${a.round}:approved`, type: 'approved', actor: a.operatorId, data: { note: a.note ?? null, productId } });
        return { productId };
      });
    },

    async rejectProduct(a: Ref & { operatorId: string; reasons: string[] }): Promise<void> {
      await db.transaction(async (tx) => {
        const at = new Date(a.at);
        await tx.update(productApplications).set({ status: 'rejected', overdue: false, decidedAt: at, decidedBy: a.operatorId, reasons: a.reasons, updatedAt: at })
          .where(and(eq(productApplications.id, a.applicationId), eq(productApplications.round, a.round)));
        await event(tx, { ...a, key: `r${a.round}:rejected`, type: 'rejected', actor: a.operatorId, data: { reasons: a.reasons } });
      });
    },

    async expireProduct(a: Ref): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.update(productApplications).set({ status: 'expired', updatedAt: new Date(a.at) })
          .where(and(eq(productApplications.id, a.applicationId), eq(productApplications.status, 'rejected')));
        await event(tx, { ...a, key: `r${a.round}:expired`, type: 'expired' });
      });
    },

    /** Promotes the edited application (a staged revision) into the case as its next round. */
    async resubmitProduct(a: Ref & { applicantId: string; revisionId: string }): Promise<void> {
      await db.transaction(async (tx) => {
        const [rev] = await tx.select().from(productApplicationRevisions)
          .where(and(eq(productApplicationRevisions.id, a.revisionId), eq(productApplicationRevisions.applicationId, a.applicationId)));
        if (!rev) throw ApplicationFailure.nonRetryable(`revision ${a.revisionId} not found`, 'RevisionNotFound');
        const at = new Date(a.at);
        await tx.update(productApplications)
          .set({ payload: rev.payload, round: a.round, status: 'pending', overdue: false, openedAt: at, deadline: null, decidedAt: null, decidedBy: null, reasons: null, updatedAt: at })
          .where(and(eq(productApplications.id, a.applicationId), eq(productApplications.round, a.round - 1)));
        await event(tx, { ...a, key: `r${a.round}:resubmitted`, type: 'resubmitted', actor: a.applicantId, data: { revisionId: a.revisionId } });
      });
    },

    async recordProductEvent(a: Ref & { type: string; data?: Record<string, unknown> }): Promise<void> {
      await event(db, { ...a, key: `r${a.round}:${a.type}:${a.at}` });
    },
  };
}

export type ProductReviewActivities = ReturnType<typeof createProductReviewActivities>;
