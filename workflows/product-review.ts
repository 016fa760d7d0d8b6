import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { ProductReviewActivities } from '../activities/product-review';
import { DB_WRITES } from './activity-options';
import { SA } from './merchant-review-messages';
import {
  approveReleaseUpdate, productReviewStateQuery, rejectReleaseUpdate, resubmitReleaseUpdate, type ProductReviewInput, type ProductReviewState,
} from './product-review-messages';
import { runReviewCase } from './review-case';

const db = proxyActivities<ProductReviewActivities>(DB_WRITES);

/**
 * The release review of an image product (spec §5.2, docs/product-review.md) on the same review machinery
 * as seller onboarding: 3 working days, one more when the seller filed 10 or more applications that day;
 * an approval lists the product; a rejected application is edited and resubmitted into the same case, which
 * continues as new with the round the resubmission opened.
 */
export async function productReview(input: ProductReviewInput): Promise<ProductReviewState> {
  const { applicationId } = input;
  const state: ProductReviewState = {
    applicationId, kind: 'release', status: 'pending', round: input.round ?? 1, deadline: null, overdueAt: null, decidedAt: null,
    merchantId: input.merchantId, productId: null,
  };
  const rule = { workingDays: input.workingDays, extensionDays: input.extensionDays, busyThreshold: input.busyThreshold };
  return runReviewCase({
    state, openedAt: input.openedAt, resubmitWindowDays: input.resubmitWindowDays,
    steps: {
      openRound: (round, openedAt) => db.openProductRound({ applicationId, round, openedAt, rule }),
      markOverdue: db.markProductOverdue, approve: db.approveProduct, reject: db.rejectProduct, expire: db.expireProduct,
      resubmit: db.resubmitProduct, recordEvent: db.recordProductEvent,
    },
    messages: { approve: approveReleaseUpdate, reject: rejectReleaseUpdate, resubmit: resubmitReleaseUpdate, state: productReviewStateQuery },
    applicant: { kind: 'merchant', merchantId: input.merchantId },
    templates: { approved: 'release.approved', rejected: 'release.rejected', expired: 'release.expired', overdue: 'review.overdue' },
    approvalEffect: 'the product is listed in the catalog',
    continueAsNew: () => continueAsNew<typeof productReview>({ ...input, round: state.round }),
    approvedVars: ({ productId }, d) => ({ productId, note: d.note ?? '' }),
    searchAttributes: () => [
      { key: SA.status, value: state.status },
      { key: SA.kind, value: state.kind },
      { key: SA.round, value: state.round },
      ...(state.deadline ? [{ key: SA.deadline, value: new Date(state.deadline) }] : []),
      { key: SA.merchantId, value: input.merchantId },
    ],
  });
}
