import { and, eq, sql } from 'drizzle-orm';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { loadWorkingCalendar } from '../db/calendar';
import { applicationRevisions, merchantApplications, merchants, reviewEvents } from '../db/schema';
import { workingDayDeadline } from '../domain/working-days';
import { merchantIdForApplication } from '../domain/ids';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type Ref = { applicationId: string; round: number; at: number };

/** Writes one history event once: a retried activity finds its key and writes nothing. */
async function event(tx: Tx | Db, e: Ref & { key: string; type: string; actor?: string; data?: Record<string, unknown> }) {
  const rows = await tx.insert(reviewEvents).values({
    applicationId: e.applicationId, eventKey: e.key, type: e.type, round: e.round, actor: e.actor ?? null,
    data: e.data ?? {}, at: new Date(e.at),
  }).onConflictDoNothing().returning({ id: reviewEvents.id });
  return rows.length > 0;
}

async function loadApplication(tx: Tx | Db, applicationId: string) {
  const [app] = await tx.select().from(merchantApplications).where(eq(merchantApplications.id, applicationId));
  if (!app) throw ApplicationFailure.nonRetryable(`application ${applicationId} not found`, 'ApplicationNotFound');
  return app;
}

/** Database side of the merchant-review workflow. Every function is idempotent under retries. */
export function createReviewActivities({ db, config }: { db: Db; config?: Pick<Config, 'DEMO_WORKING_DAY_SECONDS'> }) {
  // DEMO_FAST only (config.ts): a working day lasts seconds, so an overdue case can be seen in minutes.
  const demoDayMs = config?.DEMO_WORKING_DAY_SECONDS ? config.DEMO_WORKING_DAY_SECONDS * 1000 : undefined;
  return {
    async openRound(a: { applicationId: string; round: number; openedAt: number; workingDays: number }): Promise<{ deadline: number }> {
      return db.transaction(async (tx) => {
        const key = `r${a.round}:opened`;
        const [done] = await tx.select({ data: reviewEvents.data }).from(reviewEvents)
          .where(and(eq(reviewEvents.applicationId, a.applicationId), eq(reviewEvents.eventKey, key)));
        // After a retry the deadline stays the one first computed, even if the calendar changed since.
        if (done) return { deadline: Number(done.data.deadline) };
        const deadline = demoDayMs ? a.openedAt + a.workingDays * demoDayMs
          : workingDayDeadline(new Date(a.openedAt), a.workingDays, await loadWorkingCalendar(tx as unknown as Db)).getTime();
        await tx.update(merchantApplications)
          .set({ deadline: new Date(deadline), overdue: false, updatedAt: new Date(a.openedAt) })
          .where(and(eq(merchantApplications.id, a.applicationId), eq(merchantApplications.round, a.round)));
        await event(tx, { ...a, at: a.openedAt, key, type: 'round_opened', data: { deadline, workingDays: a.workingDays } });
        return { deadline };
      });
    },

    async markOverdue(a: Ref): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.update(merchantApplications).set({ overdue: true, updatedAt: new Date(a.at) })
          .where(and(eq(merchantApplications.id, a.applicationId), eq(merchantApplications.round, a.round), eq(merchantApplications.status, 'pending')));
        await event(tx, { ...a, key: `r${a.round}:overdue`, type: 'overdue' });
      });
    },

    async approve(a: Ref & { operatorId: string; note?: string }): Promise<{ merchantId: string }> {
      return db.transaction(async (tx) => {
        const app = await loadApplication(tx, a.applicationId);
        const merchantId = app.merchantId ?? merchantIdForApplication(app.id);
        if (app.status === 'approved') return { merchantId };
        const at = new Date(a.at);
        if (app.kind === 'onboarding') {
          const { financeContact, ...profile } = app.payload;
          await tx.insert(merchants).values({
            id: merchantId, ownerPrincipalId: app.applicantPrincipalId, status: 'active', profile,
            financeContact: (financeContact as Record<string, unknown> | undefined) ?? null,
            onboardingApplicationId: app.id, createdAt: at, updatedAt: at,
          }).onConflictDoNothing();
        } else {
          // Business information of a seller changes only here, when its review approves it.
          await tx.update(merchants).set({ profile: sql`${merchants.profile} || ${JSON.stringify(app.payload)}::jsonb`, updatedAt: at })
            .where(eq(merchants.id, merchantId));
        }
        await tx.update(merchantApplications)
          .set({ status: 'approved', merchantId, decidedAt: at, decidedBy: a.operatorId, reasons: null, updatedAt: at })
          .where(eq(merchantApplications.id, a.applicationId));
        await event(tx, { ...a, key: `r${a.round}:approved`, type: 'approved', actor: a.operatorId, data: { note: a.note ?? null, merchantId } });
        return { merchantId };
      });
    },

    async reject(a: Ref & { operatorId: string; reasons: string[] }): Promise<void> {
      await db.transaction(async (tx) => {
        const at = new Date(a.at);
        await tx.update(merchantApplications)
          .set({ status: 'rejected', overdue: false, decidedAt: at, decidedBy: a.operatorId, reasons: a.reasons, updatedAt: at })
          .where(and(eq(merchantApplications.id, a.applicationId), eq(merchantApplications.round, a.round)));
        await event(tx, { ...a, key: `r${a.round}:rejected`, type: 'rejected', actor: a.operatorId, data: { reasons: a.reasons } });
      });
    },

    async expire(a: Ref): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.update(merchantApplications).set({ status: 'expired', updatedAt: new Date(a.at) })
          .where(and(eq(merchantApplications.id, a.applicationId), eq(merchantApplications.status, 'rejected')));
        await event(tx, { ...a, key: `r${a.round}:expired`, type: 'expired' });
      });
    },

    /** Promotes a staged revision into the case as its next round. */
    async resubmit(a: Ref & { applicantId: string; revisionId: string }): Promise<void> {
      await db.transaction(async (tx) => {
        const [rev] = await tx.select().from(applicationRevisions)
          .where(and(eq(applicationRevisions.id, a.revisionId), eq(applicationRevisions.applicationId, a.applicationId)));
        if (!rev) throw ApplicationFailure.nonRetryable(`revision ${a.revisionId} not found`, 'RevisionNotFound');
        const at = new Date(a.at);
        await tx.update(merchantApplications)
          .set({ payload: rev.payload, round: a.round, status: 'pending', overdue: false, openedAt: at, deadline: null, decidedAt: null, decidedBy: null, reasons: null, updatedAt: at })
          .where(and(eq(merchantApplications.id, a.applicationId), eq(merchantApplications.round, a.round - 1)));
        await event(tx, { ...a, key: `r${a.round}:resubmitted`, type: 'resubmitted', actor: a.applicantId, data: { revisionId: a.revisionId } });
      });
    },

    async recordEvent(a: Ref & { type: string; data?: Record<string, unknown> }): Promise<void> {
      await event(db, { ...a, key: `r${a.round}:${a.type}:${a.at}` });
    },
  };
}

export type ReviewActivities = ReturnType<typeof createReviewActivities>;
