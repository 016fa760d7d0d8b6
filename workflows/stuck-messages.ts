/**
 * The `stuck` state that every workflow shares (workflows/stuck.ts, docs/durable-patterns.md): what the
 * API, operators and tests see of a process waiting on one of our own faults. Temporal packages only.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export interface StuckInfo {
  /** The step that failed, named by the workflow (e.g. `approve`, `callNewInstance`). */
  step: string;
  /** The failure type (workflows/failure-types.ts or an activity's own), e.g. `ConfigMissing`. */
  failureType: string;
  /** The failure's message, free of SQL parameters and personal data (activities/failures.ts). */
  message: string;
  /** ISO 8601 instant the process became stuck. */
  since: string;
  /** How many automatic re-checks have failed since. */
  rechecks: number;
  /** ISO 8601 instant of the next automatic re-check. */
  nextCheckAt: string;
}

/** The answer to an operator's retry: the step passed (`resolved`) or failed again (`stuck` says how). */
export interface RetryOutcome { resolved: boolean; stuck: StuckInfo | null }

export const retryStuckUpdate = defineUpdate<RetryOutcome, [{ operatorId: string }]>('retryStuck');
export const stuckQuery = defineQuery<StuckInfo | null>('stuck');

/** Failure type of a retry refused because the process is not stuck (the API answers 409). */
export const NOT_STUCK = 'NotStuck';

export const STUCK_SA = {
  /** true while the process waits on one of our faults: `Stuck = true` in the Web UI lists them all. */
  stuck: defineSearchAttributeKey('Stuck', SearchAttributeType.BOOL),
  /** The failure type that holds it, e.g. `StuckReason = "ConfigMissing"`. */
  reason: defineSearchAttributeKey('StuckReason', SearchAttributeType.KEYWORD),
} as const;
