import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { stuckProcesses } from '../db/schema';
import type { StuckInfo } from '../workflows/stuck-messages';

/** The read model of the `stuck` pattern (workflows/stuck.ts): one row per workflow, for the operators' list. */
export function createStuckActivities({ db }: { db: Db }) {
  return {
    async markStuck(a: StuckInfo & { workflowId: string; workflowType: string; subjectId: string }): Promise<void> {
      const row = {
        workflowType: a.workflowType, subjectId: a.subjectId, step: a.step, failureType: a.failureType, message: a.message,
        since: new Date(a.since), nextCheckAt: new Date(a.nextCheckAt), rechecks: a.rechecks, updatedAt: new Date(), resolvedAt: null, resolvedBy: null,
      };
      await db.insert(stuckProcesses).values({ workflowId: a.workflowId, ...row }).onConflictDoUpdate({ target: stuckProcesses.workflowId, set: row });
    },

    async clearStuck(a: { workflowId: string; resolvedBy: string }): Promise<void> {
      await db.update(stuckProcesses).set({ resolvedAt: new Date(), resolvedBy: a.resolvedBy, updatedAt: new Date() })
        .where(eq(stuckProcesses.workflowId, a.workflowId));
    },
  };
}

export type StuckActivities = ReturnType<typeof createStuckActivities>;
