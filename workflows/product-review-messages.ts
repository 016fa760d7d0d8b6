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
  openedAt?: number;
}

export interface ProductReviewState {
  applicationId: string;
  kind: 'release';
  status: ReviewStatus;
  round: number;
  deadline: number | null;
  overdueAt: number | null;
  decidedAt: number | null;
  merchantId: string | null;
  /** The listed product, once approved. */
  productId: string | null;
}

export const approveReleaseUpdate = defineUpdate<ProductReviewState, [ApproveDecision]>('approve');
export const rejectReleaseUpdate = defineUpdate<ProductReviewState, [RejectDecision]>('reject');
export const resubmitReleaseUpdate = defineUpdate<ProductReviewState, [Resubmission]>('resubmit');
export const productReviewStateQuery = defineQuery<ProductReviewState>('state');
