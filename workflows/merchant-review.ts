import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { ReviewActivities } from '../activities/review';
import { DB_WRITES } from './activity-options';
import {
  approveUpdate, rejectUpdate, resubmitUpdate, reviewStateQuery, SA, type MerchantReviewInput, type MerchantReviewState,
} from './merchant-review-messages';
import { runReviewCase } from './review-case';

const db = proxyActivities<ReviewActivities>(DB_WRITES);

/**
 * The review of a seller's onboarding application or of a change to its business information
 * (docs/merchant-review.md), on the shared review machinery (review-case.ts). Each round has a deadline
 * of N working days; past it the case is overdue and escalated, but it stays open: nothing is ever
 * approved by default. Each resubmission continues as new with the round it opened.
 */
export async function merchantReview(input: MerchantReviewInput): Promise<MerchantReviewState> {
  const { applicationId } = input;
  const state: MerchantReviewState = {
    applicationId, kind: input.kind, status: 'pending', round: input.round ?? 1, deadline: null, overdueAt: null,
    decidedAt: null, merchantId: input.merchantId ?? null,
  };
  return runReviewCase({
    state, openedAt: input.openedAt, resubmitWindowDays: input.resubmitWindowDays,
    steps: {
      openRound: (round, openedAt) => db.openRound({ applicationId, round, openedAt, workingDays: input.workingDays }),
      markOverdue: db.markOverdue, approve: db.approve, reject: db.reject, expire: db.expire, resubmit: db.resubmit, recordEvent: db.recordEvent,
    },
    messages: { approve: approveUpdate, reject: rejectUpdate, resubmit: resubmitUpdate, state: reviewStateQuery },
    applicant: { kind: 'applicant', applicationId },
    templates: { approved: 'review.approved', rejected: 'review.rejected', expired: 'review.expired', overdue: 'review.overdue' },
    approvalEffect: 'onboarding: the seller exists',
    continueAsNew: () => continueAsNew<typeof merchantReview>({ ...input, round: state.round, merchantId: state.merchantId ?? undefined }),
    approvedVars: ({ merchantId }, d) => ({ merchantId, note: d.note ?? '' }),
    searchAttributes: () => [
      { key: SA.status, value: state.status },
      { key: SA.kind, value: state.kind },
      { key: SA.round, value: state.round },
      ...(state.deadline ? [{ key: SA.deadline, value: new Date(state.deadline) }] : []),
      ...(state.merchantId ? [{ key: SA.merchantId, value: state.merchantId }] : []),
    ],
  });
}
