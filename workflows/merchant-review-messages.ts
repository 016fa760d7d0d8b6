/**
 * Everything the API and the merchant-review workflow share: ids, messages and search attributes.
 * Imported by workflow code, so it may only use @temporalio/workflow and @temporalio/common.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const MERCHANT_REVIEW_PREFIX = 'merchant-review:';
export const merchantReviewWorkflowId = (applicationId: string) => `${MERCHANT_REVIEW_PREFIX}${applicationId}`;
export const applicationIdFromWorkflowId = (workflowId: string): string | undefined =>
  workflowId.startsWith(MERCHANT_REVIEW_PREFIX) ? workflowId.slice(MERCHANT_REVIEW_PREFIX.length) : undefined;

export type ReviewKind = 'onboarding' | 'change';
/** Status as operators see it in the Temporal UI; overdue is a pending case past its deadline. */
export type ReviewStatus = 'pending' | 'overdue' | 'approved' | 'rejected' | 'expired';

export interface MerchantReviewInput {
  applicationId: string;
  kind: ReviewKind;
  merchantId?: string;
  workingDays: number;
  resubmitWindowDays: number;
  /**
   * When the application was accepted (ISO 8601; epoch ms from runs started before issue 8 are read too): the
   * first round's deadline counts from it, however late the workflow starts.
   */
  openedAt?: string | number;
  /** The round a continued run starts in (continue-as-new after a resubmission); 1 when absent. */
  round?: number;
}

export interface MerchantReviewState {
  applicationId: string;
  kind: ReviewKind;
  status: ReviewStatus;
  round: number;
  /** ISO 8601 instants: the current round's deadline, when it passed undecided, when it was decided. */
  deadline: string | null;
  overdueAt: string | null;
  decidedAt: string | null;
  merchantId: string | null;
}

export interface ApproveDecision { operatorId: string; note?: string }
export interface RejectDecision { operatorId: string; reasons: string[] }
export interface Resubmission { applicantId: string; revisionId: string }

export const approveUpdate = defineUpdate<MerchantReviewState, [ApproveDecision]>('approve');
export const rejectUpdate = defineUpdate<MerchantReviewState, [RejectDecision]>('reject');
export const resubmitUpdate = defineUpdate<MerchantReviewState, [Resubmission]>('resubmit');
export const reviewStateQuery = defineQuery<MerchantReviewState>('state');

/** Failure type the validators throw, mapped to HTTP 409 by the API. */
export const CASE_NOT_OPEN = 'CaseNotOpen';
/** The patch under which a case continues as new after each resubmission (decision 013). */
export const REVIEW_CONTINUE_AS_NEW = 'review-continue-as-new-per-round';
/** A decision or resubmission the database would not take (its text); the case stays as it was. The API answers 422. */
export const DECISION_REFUSED = 'DecisionRefused';
/** The staged revision a resubmission names is not there (activities/review.ts). */
export const REVISION_NOT_FOUND = 'RevisionNotFound';

export const SA = {
  status: defineSearchAttributeKey('ReviewStatus', SearchAttributeType.KEYWORD),
  kind: defineSearchAttributeKey('ReviewKind', SearchAttributeType.KEYWORD),
  deadline: defineSearchAttributeKey('ReviewDeadline', SearchAttributeType.DATETIME),
  round: defineSearchAttributeKey('ReviewRound', SearchAttributeType.INT),
  merchantId: defineSearchAttributeKey('MerchantId', SearchAttributeType.KEYWORD),
} as const;
