import {
  ActivityFailure, allHandlersFinished, ApplicationFailure, condition, continueAsNew, patched, proxyActivities, setCurrentDetails, setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ReviewActivities } from '../activities/review';
import type { NotifyActivities, Party } from '../activities/notify';
import { DB_WRITES, notifications } from './activity-options';
import { FAILURE } from './failure-types';
import { createStuckGuard, failureOf } from './stuck';
import { epochMs, shanghai } from './time';
import {
  approveUpdate, CASE_NOT_OPEN, DECISION_REFUSED, rejectUpdate, REVIEW_CONTINUE_AS_NEW, REVISION_NOT_FOUND, resubmitUpdate, reviewStateQuery, SA,
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
    applicationId, kind: input.kind, status: 'pending', round: input.round ?? 1, deadline: null, overdueAt: null,
    decidedAt: null, merchantId: input.merchantId ?? null,
  };
  /** One Update's wait for its own effect: done when written, or refused with the reason. */
  interface Ticket { done: boolean; refusal?: ApplicationFailure }
  let decision: ({ approve: ApproveDecision } | { reject: RejectDecision }) & { ticket: Ticket } | null = null;
  let resubmission: (Resubmission & { ticket: Ticket }) | null = null;
  // A resubmission's Update answers once its new round has a deadline.
  let openedTicket: Ticket | null = null;
  let roundsThisRun = 0;
  const answer = async (t: Ticket) => {
    await condition(() => t.done);
    if (t.refusal) throw t.refusal;
    return state;
  };
  const settle = (t: Ticket | null | undefined, refusal?: ApplicationFailure) => { if (t) { t.refusal = refusal; t.done = true; } };

  const open = () => state.status === 'pending' || state.status === 'overdue';
  const mustBeOpen = () => {
    if (!open() || decision) throw ApplicationFailure.create({ type: CASE_NOT_OPEN, message: `case is ${state.status}`, nonRetryable: true });
  };
  setHandler(reviewStateQuery, () => state, { description: 'The case: status, round, deadline (ISO 8601), decision, stuck.' });
  setHandler(approveUpdate, (d) => { const ticket: Ticket = { done: false }; decision = { approve: d, ticket }; return answer(ticket); }, {
    description: 'An operator approves an open case. Answers once the approval is written (onboarding: the seller exists).',
    validator: (d) => { mustBeOpen(); if (!d?.operatorId) throw new Error('operatorId is required'); },
  });
  setHandler(rejectUpdate, (d) => { const ticket: Ticket = { done: false }; decision = { reject: d, ticket }; return answer(ticket); }, {
    description: 'An operator rejects an open case with reasons. Answers once written; a reason the database refuses is refused (DecisionRefused).',
    validator: (d) => {
      mustBeOpen();
      if (!d?.operatorId || !Array.isArray(d.reasons) || d.reasons.length === 0) throw new Error('operatorId and at least one reason are required');
    },
  });
  setHandler(resubmitUpdate, (r) => { const ticket: Ticket = { done: false }; resubmission = { ...r, ticket }; return answer(ticket); }, {
    description: 'The applicant resubmits a rejected case (a staged revision). Answers once the new round is open with its deadline.',
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
    const deadline = state.deadline ? shanghai(Date.parse(state.deadline)) : 'none';
    const stuck = guard.current();
    setCurrentDetails(`**${state.status}** · ${state.kind} · round ${state.round} · deadline ${deadline}${stuck ? ` · **stuck** in ${stuck.step}: ${stuck.failureType}` : ''}`);
  };
  // Our own faults (a database that stays away, a bug) hold the case in `stuck` for operators, never fail it.
  const guard = createStuckGuard({ subjectId: applicationId, onChange: () => publish() });
  /** A refusal the decision's author can act on: the database will not take these values (e.g. a NUL character). */
  const refusalOf = (e: ActivityFailure) => ApplicationFailure.create({
    type: DECISION_REFUSED, nonRetryable: true, message: `the decision was not recorded: ${failureOf(e).message}; change its text and send it again`,
  });
  /** One message per (case, round, template); a failure after a day of retries is recorded, not fatal. */
  const tell = (party: Party, template: string, extra: Record<string, unknown> = {}) =>
    notify.notifyParty({
      dedupeKey: `${applicationId}:r${state.round}:${template}`, party, template,
      vars: { applicationId, round: state.round, kind: state.kind, ...extra },
    }).catch((err: unknown) => guard.run('recordEvent', () => db.recordEvent({ applicationId, round: state.round, type: 'notification_failed', at: Date.now(), data: { template, error: String(err) } })));
  const applicant: Party = { kind: 'applicant', applicationId };

  for (;;) {
    const openedAt = state.round === 1 && input.openedAt !== undefined ? epochMs(input.openedAt) : Date.now();
    const { deadline } = await guard.run('openRound', () => db.openRound({ applicationId, round: state.round, openedAt, workingDays: input.workingDays }));
    state.deadline = new Date(deadline).toISOString();
    state.overdueAt = null;
    publish();
    settle(openedTicket);
    openedTicket = null;
    // Each resubmission starts the next run with the round it opened (its Update is answered first): a case
    // rejected and resubmitted without end keeps a short history.
    if (++roundsThisRun > 1 && patched(REVIEW_CONTINUE_AS_NEW)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof merchantReview>({ ...input, round: state.round, merchantId: state.merchantId ?? undefined });
    }

    // Waits for a decision that takes effect; one the database refuses is answered with the reason, and the case stays open.
    let approved = false;
    for (;;) {
      if (state.status === 'pending' && !(await condition(() => decision !== null, Math.max(0, deadline - Date.now())))) {
        state.status = 'overdue';
        const overdueAt = Date.now();
        state.overdueAt = new Date(overdueAt).toISOString();
        publish();
        await guard.run('markOverdue', () => db.markOverdue({ applicationId, round: state.round, at: overdueAt }));
        await tell({ kind: 'supervisors' }, 'review.overdue', { deadline: shanghai(deadline) });
      }
      await condition(() => decision !== null);
      const d = decision!;
      const decidedAt = Date.now();
      try {
        if ('approve' in d) {
          const { merchantId } = await guard.run('approve', () => db.approve({ applicationId, round: state.round, at: decidedAt, ...d.approve }), { passThrough: [FAILURE.dataRejected] });
          state.merchantId = merchantId;
          state.status = 'approved';
          approved = true;
        } else {
          await guard.run('reject', () => db.reject({ applicationId, round: state.round, at: decidedAt, ...d.reject }), { passThrough: [FAILURE.dataRejected] });
          state.status = 'rejected';
        }
      } catch (e) {
        if (!(e instanceof ActivityFailure)) throw e;
        decision = null;
        settle(d.ticket, refusalOf(e));
        continue;
      }
      state.decidedAt = new Date(decidedAt).toISOString();
      publish();
      settle(d.ticket);
      break;
    }

    const d = decision!;
    if (approved && 'approve' in d) {
      await tell(applicant, 'review.approved', { merchantId: state.merchantId, note: d.approve.note ?? '' });
      return state;
    }
    if ('reject' in d) await tell(applicant, 'review.rejected', { reasons: d.reject.reasons });

    // Waits for a resubmission the case can take, until the window closes.
    const windowEnd = Date.now() + input.resubmitWindowDays * DAY_MS;
    let r: Resubmission | null = null;
    while (!r && await condition(() => resubmission !== null, Math.max(0, windowEnd - Date.now()))) {
      const next = resubmission!;
      try {
        await guard.run('resubmit', () => db.resubmit({ applicationId, round: state.round + 1, at: Date.now(), applicantId: next.applicantId, revisionId: next.revisionId }),
          { passThrough: [FAILURE.dataRejected, REVISION_NOT_FOUND] });
        r = next;
        openedTicket = next.ticket;
      } catch (e) {
        if (!(e instanceof ActivityFailure)) throw e;
        resubmission = null;
        settle(next.ticket, refusalOf(e));
      }
    }
    if (!r) {
      await guard.run('expire', () => db.expire({ applicationId, round: state.round, at: Date.now() }));
      state.status = 'expired';
      publish();
      await tell(applicant, 'review.expired', { days: input.resubmitWindowDays });
      return state;
    }
    state.round++;
    state.status = 'pending';
    state.decidedAt = null;
    decision = null;
    resubmission = null;
  }
}
