import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Database writes are idempotent (keyed rows). A transient failure (connection lost, serialization
 * failure, deadlock) retries with backoff for up to 10 minutes; an error that cannot succeed on retry is
 * non-retryable (activities/failures.ts) and fails at once. Either way the workflow then decides: refuse
 * with a reason, or go `stuck` (workflows/stuck.ts), which re-checks by itself once the database is back.
 */
export const DB_WRITES: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/** Notifications retry with growing pauses; a channel that stays down gives up after `within` and is recorded. */
export const notifications = (within: string): ActivityOptions => ({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: within,
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '30 minutes' },
});
