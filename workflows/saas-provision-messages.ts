/** What the API and the SaaS provisioning workflow share. Imported by workflow code: Temporal packages only. */
import { defineSearchAttributeKey, SearchAttributeType, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { SA } from './merchant-review-messages';
import type { StuckInfo } from './stuck-messages';

export const saasProvisionWorkflowId = (orderLineId: string) => `saas-provision:${orderLineId}`;

/** The patch that marks version 2 (decision 013): histories without it replay workflows/legacy/saas-provision-v1.ts. */
export const PROVISION_V2 = 'provision-v2-flat-polling';

/** Durations in milliseconds, snapshotted from configuration when the order is placed. */
export interface ProvisionInput {
  orderLineId: string;
  merchantId: string;
  productId: string;
  retryIntervalMs: number;
  retryWindowMs: number;
  pollIntervalMs: number;
  /** How long a restart's call polls after 000004 (the automatic phase polls until its own window ends). */
  pollWindowMs: number;
  idleAction: 'refund' | 'keep';
  idleMs: number;
  /** State carried by continue-as-new after a manual restart (version 2). */
  carry?: ProvisionCarry;
}

export interface ProvisionCarry {
  attempts: number;
  lastError: string | null;
  instanceId: string | null;
  restarts: number;
  /** ISO 8601: when the automatic window closes (or closed). */
  autoRetriesEndAt: string;
  /** ISO 8601: since when the line waits for a person (null while the automatic phase runs). */
  waitingSince: string | null;
}

/**
 * calling → (polling) → delivered | failed; calling → interface_failed (window over) → restart/manual/cancel;
 * `stuck` whenever our own side fails (docs/durable-patterns.md), back to where it was once fixed.
 */
export type ProvisionStatus = 'calling' | 'polling' | 'stuck' | 'interface_failed' | 'delivered' | 'failed' | 'cancelled';

export interface ProvisionState {
  orderLineId: string;
  status: ProvisionStatus;
  attempts: number;
  lastError: string | null;
  instanceId: string | null;
  /** ISO 8601: when the automatic window closes; time stuck on our side extends it. */
  autoRetriesEndAt: string;
  /** ISO 8601: since when the line waits for the seller's restart or manual delivery, or the buyer's cancellation. */
  waitingSince: string | null;
  restarts: number;
  /** The refund when the line closed failed or cancelled (cents), else null. */
  refundedCents: number | null;
  stuck: StuckInfo | null;
}

export interface ManualDelivery { sellerId: string; instanceId: string }
export const restartUpdate = defineUpdate<ProvisionState, [{ sellerId: string }]>('restart');
export const manualDeliveryUpdate = defineUpdate<ProvisionState, [ManualDelivery]>('deliverManually');
export const cancelUpdate = defineUpdate<ProvisionState, [{ buyerId: string }]>('cancel');
export const provisionStateQuery = defineQuery<ProvisionState>('state');

export const PROVISION_NOT_ALLOWED = 'ProvisionActionNotAllowed';
/** A poll attempt whose instance is not ready yet: retried by the server at the poll interval. */
export const INSTANCE_NOT_READY = 'InstanceNotReady';

export const PROVISION_SA = {
  status: defineSearchAttributeKey('ProvisionStatus', SearchAttributeType.KEYWORD),
  productId: defineSearchAttributeKey('ProductId', SearchAttributeType.KEYWORD),
} as const;

/** The configuration a provisioning run snapshots (config.ts). */
export interface ProvisionConfig {
  TEMPORAL_TASK_QUEUE: string;
  PROVISION_RETRY_INTERVAL_MS: number; PROVISION_RETRY_WINDOW_MS: number; PROVISION_POLL_INTERVAL_MS: number; PROVISION_POLL_WINDOW_MS: number;
  PROVISION_IDLE_ACTION: 'refund' | 'keep'; PROVISION_IDLE_MS: number;
}

/** How a line's provisioning is started: by the order, the orders sweep and the reconciliation alike (USE_EXISTING). */
export function provisionStartOptions(line: { id: string; merchantId: string; productId: string }, config: ProvisionConfig) {
  const input: ProvisionInput = {
    orderLineId: line.id, merchantId: line.merchantId, productId: line.productId,
    retryIntervalMs: config.PROVISION_RETRY_INTERVAL_MS, retryWindowMs: config.PROVISION_RETRY_WINDOW_MS,
    pollIntervalMs: config.PROVISION_POLL_INTERVAL_MS, pollWindowMs: config.PROVISION_POLL_WINDOW_MS,
    idleAction: config.PROVISION_IDLE_ACTION, idleMs: config.PROVISION_IDLE_MS,
  };
  return {
    workflowId: saasProvisionWorkflowId(line.id), taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input] as [ProvisionInput],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `SaaS provisioning of order line ${line.id}`,
    typedSearchAttributes: [
      { key: PROVISION_SA.status, value: 'calling' }, { key: PROVISION_SA.productId, value: line.productId }, { key: SA.merchantId, value: line.merchantId },
    ],
  };
}
