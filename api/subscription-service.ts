import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { asc, eq } from 'drizzle-orm';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { subscriptions } from '../db/schema';
import { notStarted, SWEEP_GRACE_MS } from '../db/workflow-started';
import { subscriptionStartOptions } from '../workflows/subscription-messages';

type Row = typeof subscriptions.$inferSelect;

/**
 * Starts subscription workflows from their rows (decision 008): a delivered periodic instance's row is written
 * with the delivery, the provisioning workflow starts its subscription at once, and this sweep starts any that
 * did not start. The workflow's first activity records that it runs.
 */
export function createSubscriptionService({ db, temporal, config }: { db: Db; temporal: Client; config: Config }) {
  async function start(row: Row) {
    try {
      await temporal.workflow.start('subscription', subscriptionStartOptions(row, config.TEMPORAL_TASK_QUEUE));
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
  }

  return {
    start,
    /** Starts subscriptions delivered more than `graceMs` ago whose workflow has not recorded itself; returns how many. */
    async sweep(graceMs = SWEEP_GRACE_MS, limit = 100): Promise<number> {
      const rows = await db.select().from(subscriptions).where(notStarted(subscriptions, graceMs)).orderBy(asc(subscriptions.createdAt)).limit(limit);
      for (const row of rows) await start(row);
      return rows.length;
    },
    /** Before a message to a subscription the sweep has not reached yet: start it first. */
    async ensureStarted(id: string) {
      const [row] = await db.select().from(subscriptions).where(eq(subscriptions.id, id));
      if (row && !row.workflowStartedAt) await start(row);
    },
  };
}

export type SubscriptionService = ReturnType<typeof createSubscriptionService>;
