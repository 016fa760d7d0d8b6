/** What the API and the SaaS provisioning workflow share. Imported by workflow code: Temporal packages only. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const saasProvisionWorkflowId = (orderLineId: string) => `saas-provision:${orderLineId}`;

export interface ProvisionInput {
  orderLineId: string;
  merchantId: string;
  productId: string;
  retryIntervalMs: number;
  retryWindowMs: number;
  pollIntervalMs: number;
  pollWindowMs: number;
  idleAction: 'refund' | 'keep';
  idleMs: number;
}

/** calling → (polling) → delivered | failed; calling → interface_failed (retries over) → restart/manual/cancel. */
export type ProvisionStatus = 'calling' | 'polling' | 'interface_failed' | 'delivered' | 'failed' | 'cancelled';

export interface ProvisionState {
  orderLineId: string;
  status: ProvisionStatus;
  attempts: number;
  lastError: string | null;
  instanceId: string | null;
  /** Epoch ms when automatic retries stop. */
  autoRetriesEndAt: number;
}

export interface ManualDelivery { sellerId: string; instanceId: string }
export const restartUpdate = defineUpdate<ProvisionState, [{ sellerId: string }]>('restart');
export const manualDeliveryUpdate = defineUpdate<ProvisionState, [ManualDelivery]>('deliverManually');
export const cancelUpdate = defineUpdate<ProvisionState, [{ buyerId: string }]>('cancel');
export const provisionStateQuery = defineQuery<ProvisionState>('state');

export const PROVISION_NOT_ALLOWED = 'ProvisionActionNotAllowed';

export const PROVISION_SA = {
  status: defineSearchAttributeKey('ProvisionStatus', SearchAttributeType.KEYWORD),
  productId: defineSearchAttributeKey('ProductId', SearchAttributeType.KEYWORD),
} as const;
