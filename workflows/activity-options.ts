import type { ActivityOptions } from '@temporalio/workflow';

/** Database writes are idempotent (keyed rows), so they retry for as long as the database is away. */
export const DB_WRITES: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/** Notifications retry with growing pauses; a channel that stays down gives up after `within` and is recorded. */
export const notifications = (within: string): ActivityOptions => ({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: within,
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '30 minutes' },
});
