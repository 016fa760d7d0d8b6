/**
 * What the API and the product-review workflow share. The decisions are the same Updates, with the same
 * names and validators, as seller onboarding's (merchant-review-messages.ts); only the state differs.
 * Imported by workflow code, so it may only use @temporalio/workflow and @temporalio/common.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ApproveDecision, RejectDecision, Resubmission, ReviewStatus } from './merchant-review-messages';

export const PRODUCT_REVIEW_PREFIX = 'product-review:';
export const productReviewWorkflowId = (applicationId: string) => `${PRODUCT_REVIEW_PREFIX}${applicationId}`;

export interface ProductReviewInput {
  applicationId: string;
  merchantId: string;
  workingDays: number;
  /** Extra working days when the seller filed `busyThreshold` or more applications that day (spec §5.2). */
  extensionDays: number;
  busyThreshold: number;
  resubmitWindowDays: number;
  /** When the application was filed (ISO 8601; epoch ms in runs started before the merge with issue 8's review): the first round counts from it. */
  openedAt?: string | number;
  /** The round a continued run starts in (continue-as-new after a resubmission); 1 when absent. */
  round?: number;
}

export interface ProductReviewState {
  applicationId: string;
  kind: 'release';
  status: ReviewStatus;
  round: number;
  /** ISO 8601 instants: the current round's deadline, when it passed undecided, when it was decided. */
  deadline: string | null;
  overdueAt: string | null;
  decidedAt: string | null;
  merchantId: string | null;
  /** The listed product, once approved. */
  productId: string | null;
}

export const approveReleaseUpdate = defineUpdate<ProductReviewState, [ApproveDecision]>('approve');
export const rejectReleaseUpdate = defineUpdate<ProductReviewState, [RejectDecision]>('reject');
export const resubmitReleaseUpdate = defineUpdate<ProductReviewState, [Resubmission]>('resubmit');
export const productReviewStateQuery = defineQuery<ProductReviewState>('state');
