import {
  ApplicationFailure, condition, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ReviewActivities } from '../activities/review';
import type { NotifyActivities, Party } from '../activities/notify';
import { DB_WRITES, notifications } from './activity-options';
import {
  approveUpdate, CASE_NOT_OPEN, rejectUpdate, resubmitUpdate, reviewStateQuery, SA,
  type ApproveDecision, type MerchantReviewInput, type MerchantReviewState, type RejectDecision, type Resubmission,
} from './merchant-review-messages';

const db = proxyActivities<ReviewActivities>(DB_WRITES);
// A channel that stays down for a day must not hold the case: the failure is recorded and the process goes on.
const notify = proxyActivities<NotifyActivities>(notifications('24 hours'));

const DAY_MS = 86_400_000;

/**
 * The review of a seller's onboarding application or of a change to its business information
 * (docs/merchant-review.md). Each round has a deadline of N working days; past it the case is
 * overdue and escalated, but it stays open: nothing is ever approved by default.
 */
export async function merchantReview(input: MerchantReviewInput): Promise<MerchantReviewState> {
  const { applicationId } = input;
  const state: MerchantReviewState = {
    applicationId, kind: input.kind, status: 'pending', round: 1, deadline: null, overdueAt: null,
    decidedAt: null, merchantId: input.merchantId ?? null,
  };
  let decision: { approve: ApproveDecision } | { reject: RejectDecision } | null = null;
  let resubmission: Resubmission | null = null;
  // Set when the main loop has written the outcome of a message, so its Update can return the new state.
  let settled = 0;
  let received = 0;
  let settleWhenOpened = false;

  const open = () => state.status === 'pending' || state.status === 'overdue';
  const mustBeOpen = () => {
    if (!open() || decision) throw ApplicationFailure.create({ type: CASE_NOT_OPEN, message: `case is ${state.status}`, nonRetryable: true });
  };
  setHandler(reviewStateQuery, () => state);
  setHandler(approveUpdate, async (d) => { decision = { approve: d }; const n = ++received; await condition(() => settled >= n); return state; }, {
    validator: (d) => { mustBeOpen(); if (!d?.operatorId) throw new Error('operatorId is required'); },
  });
  setHandler(rejectUpdate, async (d) => { decision = { reject: d }; const n = ++received; await condition(() => settled >= n); return state; }, {
    validator: (d) => {
      mustBeOpen();
      if (!d?.operatorId || !Array.isArray(d.reasons) || d.reasons.length === 0) throw new Error('operatorId and at least one reason are required');
    },
  });
  setHandler(resubmitUpdate, async (r) => { resubmission = r; const n = ++received; await condition(() => settled >= n); return state; }, {
    validator: (r) => {
      if (state.status !== 'rejected' || resubmission) {
        throw ApplicationFailure.create({ type: CASE_NOT_OPEN, message: `case is ${state.status}, only a rejected case takes a resubmission`, nonRetryable: true });
      }
      if (!r?.revisionId) throw new Error('revisionId is required');
    },
  });

  const publish = () => {
    upsertSearchAttributes([
      { key: SA.status, value: state.status },
      { key: SA.kind, value: state.kind },
      { key: SA.round, value: state.round },
      ...(state.deadline ? [{ key: SA.deadline, value: new Date(state.deadline) }] : []),
      ...(state.merchantId ? [{ key: SA.merchantId, value: state.merchantId }] : []),
    ]);
    const deadline = state.deadline ? new Date(state.deadline).toISOString() : 'none';
    setCurrentDetails(`**${state.status}** · ${state.kind} · round ${state.round} · deadline ${deadline}`);
  };
  /** One message per (case, round, template); a failure after a day of retries is recorded, not fatal. */
  const tell = (party: Party, template: string, extra: Record<string, unknown> = {}) =>
    notify.notifyParty({
      dedupeKey: `${applicationId}:r${state.round}:${template}`, party, template,
      vars: { applicationId, round: state.round, kind: state.kind, ...extra },
    }).catch((err: unknown) => db.recordEvent({ applicationId, round: state.round, type: 'notification_failed', at: Date.now(), data: { template, error: String(err) } }));
  const applicant: Party = { kind: 'applicant', applicationId };

  for (;;) {
    const openedAt = state.round === 1 && input.openedAt !== undefined ? input.openedAt : Date.now();
    const { deadline } = await db.openRound({ applicationId, round: state.round, openedAt, workingDays: input.workingDays });
    state.deadline = deadline;
    state.overdueAt = null;
    publish();
    // A resubmission's Update returns once its new round has a deadline.
    if (settleWhenOpened) { settleWhenOpened = false; settled++; }

    if (!(await condition(() => decision !== null, Math.max(0, deadline - Date.now())))) {
      state.status = 'overdue';
      state.overdueAt = Date.now();
      publish();
      await db.markOverdue({ applicationId, round: state.round, at: state.overdueAt });
      await tell({ kind: 'supervisors' }, 'review.overdue', { deadline: new Date(deadline).toISOString() });
      await condition(() => decision !== null);
    }

    const d = decision!;
    state.decidedAt = Date.now();
    if ('approve' in d) {
      const { merchantId } = await db.approve({ applicationId, round: state.round, at: state.decidedAt, ...d.approve });
      state.merchantId = merchantId;
      state.status = 'approved';
      publish();
      settled++;
      await tell(applicant, 'review.approved', { merchantId, note: d.approve.note ?? '' });
      return state;
    }

    await db.reject({ applicationId, round: state.round, at: state.decidedAt, ...d.reject });
    state.status = 'rejected';
    publish();
    settled++;
    await tell(applicant, 'review.rejected', { reasons: d.reject.reasons });

    if (!(await condition(() => resubmission !== null, input.resubmitWindowDays * DAY_MS))) {
      await db.expire({ applicationId, round: state.round, at: Date.now() });
      state.status = 'expired';
      publish();
      await tell(applicant, 'review.expired', { days: input.resubmitWindowDays });
      return state;
    }
    const r = resubmission!;
    await db.resubmit({ applicationId, round: state.round + 1, at: Date.now(), ...r });
    state.round++;
    state.status = 'pending';
    state.decidedAt = null;
    decision = null;
    resubmission = null;
    settleWhenOpened = true;
  }
}
