/** What the API and the subscription workflow share. Imported by workflow code: Temporal packages and pure domain only. */
import { defineSearchAttributeKey, SearchAttributeType, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { SA } from './merchant-review-messages';
import { PROVISION_SA } from './saas-provision-messages';
import type { ExpiryPolicy, NextAction, PendingRenewal, SubscriptionStatus, Terms, Timeline } from '../domain/subscription';

export const subscriptionWorkflowId = (instanceId: string) => `subscription:${instanceId}`;
export const instanceIdOfWorkflow = (workflowId: string) => workflowId.replace(/^subscription:/, '');

/** A call to the seller's production interface that the subscription owes it, in the order owed. */
export type SellerCall =
  | { seq: number; activity: 'refreshInstance'; scene: 'RENEWAL' | 'TRIAL_TO_FORMAL' | 'UNSUBSCRIBE_RENEWAL_PERIOD'; orderId: string; orderLineId: string; expiresAt: number }
  | { seq: number; activity: 'updateInstanceStatus'; status: 'FREEZE' | 'UNFREEZE' }
  | { seq: number; activity: 'releaseInstance'; orderId?: string; orderLineId?: string };

/** A call as the timeline owes it; the outbox numbers it. */
export type OwedCall = SellerCall extends infer C ? (C extends unknown ? Omit<C, 'seq'> : never) : never;

/**
 * The seller calls still owed: the first is being tried, every `retryIntervalMs` until `retryUntil` (1 hour
 * after its first attempt); then the queue waits for the seller's restart. The buyer's timeline never waits for it.
 */
export interface Outbox { calls: SellerCall[]; attempt: number; nextAttemptAt: number | null; retryUntil: number | null; waiting: boolean; nextSeq: number }

/** The whole state of one subscription; it is also the input of each continued run. */
export interface SubscriptionState extends Timeline {
  instanceId: string;
  orderLineId: string;
  buyerId: string;
  merchantId: string;
  productId: string;
  skuId: string;
  terms: Terms;
  deliveredAt: number;
  /** Start of the first paid period; expiries are counted from it (domain/periods.ts). */
  anchorAt: number;
  /** Periods of `terms.unit` paid since `anchorAt`. */
  periodsPaid: number;
  /** Renewals made so far (they number the renewal orders). */
  renewalCount: number;
  outbox: Outbox;
  settings: { unsubscribeWindowDays: number; retryIntervalMs: number; retryWindowMs: number; historyLimit: number };
  /** Each write of the read model carries a higher revision, so a late write never overwrites a newer one. */
  revision: number;
  run: number;
}

export interface SubscriptionInput { instanceId: string; state?: SubscriptionState }

/** What every reader gets: the state, and the next scheduled action. Instants are ISO 8601 UTC. */
export interface SubscriptionView {
  instanceId: string; status: SubscriptionStatus; stuck: string | null; policy: ExpiryPolicy; trial: boolean;
  expiresAt: string; releaseAt: string | null; nextAction: NextAction['kind'] | null; nextActionAt: string | null;
  pendingRenewals: { orderId: string; startsAt: string; endsAt: string }[]; sellerCallsOwed: number; sellerCallsWaitingForRestart: boolean;
}

export const setPolicyUpdate = defineUpdate<SubscriptionView, [{ policy: ExpiryPolicy }]>('setExpiryPolicy');
export const renewUpdate = defineUpdate<SubscriptionView, [{ terms: number }]>('renew');
export const convertUpdate = defineUpdate<SubscriptionView, [Record<string, never>]>('convertTrial');
export const unsubscribeUpdate = defineUpdate<SubscriptionView, [Record<string, never>]>('unsubscribe');
export const unsubscribeRenewalUpdate = defineUpdate<SubscriptionView, [Record<string, never>]>('unsubscribeRenewalPeriod');
export const restartSellerCallsUpdate = defineUpdate<SubscriptionView, [Record<string, never>]>('restartSellerCalls');
export const subscriptionQuery = defineQuery<SubscriptionView>('subscription');

/** Refusal types: a state that does not take the message (409), or money (402). */
export const SUBSCRIPTION_NOT_ALLOWED = 'SubscriptionActionNotAllowed';
export const INSUFFICIENT_BALANCE = 'InsufficientBalance';
export const UNSUBSCRIBE_QUOTA = 'UnsubscribeQuotaExceeded';

export const SUBSCRIPTION_SA = {
  // A list of one state: PostgreSQL visibility has ten Keyword columns and the project's other processes use them all,
  // while KeywordList has its own. `SubscriptionState = 'frozen'` finds it all the same.
  state: defineSearchAttributeKey('SubscriptionState', SearchAttributeType.KEYWORD_LIST),
  expiresAt: defineSearchAttributeKey('SubscriptionExpiresAt', SearchAttributeType.DATETIME),
} as const;

/**
 * How a subscription workflow is started, by the provisioning workflow's delivery, the sweep or the API alike: its
 * id is the instance's, so every start after the first finds it (USE_EXISTING) and a released one is not restarted.
 */
export function subscriptionStartOptions(row: { id: string; status: string; expiresAt: Date; productId: string; merchantId: string }, taskQueue: string) {
  return {
    workflowId: subscriptionWorkflowId(row.id), taskQueue, args: [{ instanceId: row.id }] as [SubscriptionInput],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `Subscription of instance ${row.id}`,
    typedSearchAttributes: [
      { key: SUBSCRIPTION_SA.state, value: [row.status] }, { key: SUBSCRIPTION_SA.expiresAt, value: row.expiresAt },
      { key: PROVISION_SA.productId, value: row.productId }, { key: SA.merchantId, value: row.merchantId },
    ],
  };
}

/** Pending renewals as the view shows them. */
export const renewalView = (r: PendingRenewal) => ({ orderId: r.orderId, startsAt: new Date(r.startsAt).toISOString(), endsAt: new Date(r.endsAt).toISOString() });
