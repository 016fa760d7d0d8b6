import {
  ActivityFailure, allHandlersFinished, ApplicationFailure, condition, patched, proxyActivities, setCurrentDetails, setHandler,
  upsertSearchAttributes, type QueryDefinition,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair, UpdateDefinition } from '@temporalio/common';
import type { NotifyActivities, Party } from '../activities/notify';
import { notifications } from './activity-options';
import { FAILURE } from './failure-types';
import {
  CASE_NOT_OPEN, DECISION_REFUSED, REVIEW_CONTINUE_AS_NEW, REVISION_NOT_FOUND,
  type ApproveDecision, type RejectDecision, type Resubmission, type ReviewStatus,
} from './merchant-review-messages';
import { createStuckGuard, failureOf } from './stuck';
import { epochMs, shanghai } from './time';

// A channel that stays down for a day must not hold the case: the failure is recorded and the process goes on.
const notify = proxyActivities<NotifyActivities>(notifications('24 hours'));
const DAY_MS = 86_400_000;

/** What every review case shows: seller onboarding and changes (merchant-review), image releases (product-review). */
export interface ReviewCaseState {
  applicationId: string;
  kind: string;
  status: ReviewStatus;
  round: number;
  /** ISO 8601 instants: the current round's deadline, when it passed undecided, when it was decided. */
  deadline: string | null;
  overdueAt: string | null;
  decidedAt: string | null;
}

type Ref = { applicationId: string; round: number; at: number };

/** The database side of one kind of case: each step an idempotent activity. */
export interface ReviewSteps<R> {
  /** Opens a round and returns its deadline (working days from the calendar, computed once per round). */
  openRound(round: number, openedAt: number): Promise<{ deadline: number }>;
  markOverdue(a: Ref): Promise<void>;
  /** Takes the approval's effect (an active seller, a listed product); its result joins the state. */
  approve(a: Ref & ApproveDecision): Promise<R>;
  reject(a: Ref & RejectDecision): Promise<void>;
  expire(a: Ref): Promise<void>;
  resubmit(a: Ref & Resubmission): Promise<void>;
  recordEvent(a: Ref & { type: string; data?: Record<string, unknown> }): Promise<void>;
}

export interface ReviewCase<S extends ReviewCaseState, R> {
  state: S;
  /**
   * When the case was accepted (ISO 8601, or epoch ms from runs started before issue 8): the first round
   * counts from it, however late the workflow starts.
   */
  openedAt?: string | number;
  resubmitWindowDays: number;
  steps: ReviewSteps<R>;
  messages: {
    approve: UpdateDefinition<S, [ApproveDecision]>;
    reject: UpdateDefinition<S, [RejectDecision]>;
    resubmit: UpdateDefinition<S, [Resubmission]>;
    state: QueryDefinition<S>;
  };
  /** Who is told of decisions, with which message templates. */
  applicant: Party;
  templates: { approved: string; rejected: string; expired: string; overdue: string };
  /** What an approval writes, as the approve Update's description says it (the Web UI shows it). */
  approvalEffect: string;
  /**
   * Continues the case as new in the round `state.round` (after a resubmission), carrying what the next run
   * needs; it does not return. Each workflow type builds its own input.
   */
  continueAsNew(): Promise<never>;
  /** Variables of the approval message, from the approval's result. */
  approvedVars(result: R, decision: ApproveDecision): Record<string, unknown>;
  /** The case's search attributes, from its state. */
  searchAttributes(): SearchAttributeUpdatePair[];
}

/**
 * The review machinery every kind of case runs (docs/merchant-review.md, docs/product-review.md): rounds
 * with a deadline of working days; past it the case is overdue and escalated, but it stays open (nothing
 * is approved by default); approve, reject and resubmit are Updates whose validators refuse invalid
 * transitions, and which answer with their own effect once it is written, or with the reason the database
 * refused it; a rejected case waits for a resubmission into the same case; our own faults hold it in `stuck`.
 */
export async function runReviewCase<S extends ReviewCaseState, R extends Partial<S>>(c: ReviewCase<S, R>): Promise<S> {
  const { state, steps } = c;
  const { applicationId } = state;
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
  setHandler(c.messages.state, () => state, { description: 'The case: status, round, deadline (ISO 8601), decision, stuck.' });
  setHandler(c.messages.approve, (d) => { const ticket: Ticket = { done: false }; decision = { approve: d, ticket }; return answer(ticket); }, {
    description: `An operator approves an open case. Answers once the approval is written (${c.approvalEffect}).`,
    validator: (d) => { mustBeOpen(); if (!d?.operatorId) throw new Error('operatorId is required'); },
  });
  setHandler(c.messages.reject, (d) => { const ticket: Ticket = { done: false }; decision = { reject: d, ticket }; return answer(ticket); }, {
    description: 'An operator rejects an open case with reasons. Answers once written; a reason the database refuses is refused (DecisionRefused).',
    validator: (d) => {
      mustBeOpen();
      if (!d?.operatorId || !Array.isArray(d.reasons) || d.reasons.length === 0) throw new Error('operatorId and at least one reason are required');
    },
  });
  setHandler(c.messages.resubmit, (r) => { const ticket: Ticket = { done: false }; resubmission = { ...r, ticket }; return answer(ticket); }, {
    description: 'The applicant resubmits a rejected case (a staged revision). Answers once the new round is open with its deadline.',
    validator: (r) => {
      if (state.status !== 'rejected' || resubmission) {
        throw ApplicationFailure.create({ type: CASE_NOT_OPEN, message: `case is ${state.status}, only a rejected case takes a resubmission`, nonRetryable: true });
      }
      if (!r?.revisionId) throw new Error('revisionId is required');
    },
  });

  const publish = () => {
    upsertSearchAttributes(c.searchAttributes());
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
    }).catch((err: unknown) => guard.run('recordEvent', () => steps.recordEvent({ applicationId, round: state.round, type: 'notification_failed', at: Date.now(), data: { template, error: String(err) } })));

  for (;;) {
    const openedAt = state.round === 1 && c.openedAt !== undefined ? epochMs(c.openedAt) : Date.now();
    const { deadline } = await guard.run('openRound', () => steps.openRound(state.round, openedAt));
    state.deadline = new Date(deadline).toISOString();
    state.overdueAt = null;
    publish();
    settle(openedTicket);
    openedTicket = null;
    // Each resubmission starts the next run with the round it opened (its Update is answered first): a case
    // rejected and resubmitted without end keeps a short history. (The patch id is merchant-review's, decision 013:
    // recorded histories of both types replay.)
    if (++roundsThisRun > 1 && patched(REVIEW_CONTINUE_AS_NEW)) {
      await condition(allHandlersFinished);
      await c.continueAsNew();
    }

    // Waits for a decision that takes effect; one the database refuses is answered with the reason, and the case stays open.
    let approved: R | null = null;
    for (;;) {
      if (state.status === 'pending' && !(await condition(() => decision !== null, Math.max(0, deadline - Date.now())))) {
        state.status = 'overdue';
        const overdueAt = Date.now();
        state.overdueAt = new Date(overdueAt).toISOString();
        publish();
        await guard.run('markOverdue', () => steps.markOverdue({ applicationId, round: state.round, at: overdueAt }));
        await tell({ kind: 'supervisors' }, c.templates.overdue, { deadline: shanghai(deadline) });
      }
      await condition(() => decision !== null);
      const d = decision!;
      const decidedAt = Date.now();
      try {
        if ('approve' in d) {
          approved = await guard.run('approve', () => steps.approve({ applicationId, round: state.round, at: decidedAt, ...d.approve }), { passThrough: [FAILURE.dataRejected] });
          Object.assign(state, approved);
          state.status = 'approved';
        } else {
          await guard.run('reject', () => steps.reject({ applicationId, round: state.round, at: decidedAt, ...d.reject }), { passThrough: [FAILURE.dataRejected] });
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
      await tell(c.applicant, c.templates.approved, c.approvedVars(approved, d.approve));
      return state;
    }
    if ('reject' in d) await tell(c.applicant, c.templates.rejected, { reasons: d.reject.reasons });

    // Waits for a resubmission the case can take, until the window closes.
    const windowEnd = Date.now() + c.resubmitWindowDays * DAY_MS;
    let r: Resubmission | null = null;
    while (!r && await condition(() => resubmission !== null, Math.max(0, windowEnd - Date.now()))) {
      const next = resubmission!;
      try {
        await guard.run('resubmit', () => steps.resubmit({ applicationId, round: state.round + 1, at: Date.now(), applicantId: next.applicantId, revisionId: next.revisionId }),
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
      await guard.run('expire', () => steps.expire({ applicationId, round: state.round, at: Date.now() }));
      state.status = 'expired';
      publish();
      await tell(c.applicant, c.templates.expired, { days: c.resubmitWindowDays });
      return state;
    }
    state.round++;
    state.status = 'pending';
    state.decidedAt = null;
    decision = null;
    resubmission = null;
  }
}
