import {
  ActivityFailure, allHandlersFinished, ApplicationFailure, condition, continueAsNew, proxyActivities, setCurrentDetails, setHandler,
  upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { NotifyActivities, Party as NotifyParty } from '../activities/notify';
import type { ProvisionActivities } from '../activities/provision';
import type { LogEntry, SupervisionActivities, SupervisionView } from '../activities/supervision';
import {
  appealGround, applyAction, decideAppeal, firstStage, isOpen, missingProof, nextTimer, openAppeal, refuseAction, refuseDecision,
  validityStart, type Appeal, type Party, type Refusal, type Stage,
} from '../domain/supervision';
import { DB_WRITES, notifications } from './activity-options';
import { FAILURE } from './failure-types';
import { createStuckGuard, failureOf } from './stuck';
import { SA } from './merchant-review-messages';
import { PROVISION_SA } from './saas-provision-messages';
import {
  actUpdate, appealUpdate, decideUpdate, SUPERVISION_CONFLICT, SUPERVISION_FORBIDDEN, SUPERVISION_SA, supervisionStateQuery,
  type ActorRef, type ActRequest, type AppealRequest, type AppealState, type Attachment, type DecideRequest, type Note,
  type SupervisionInput, type SupervisionState,
} from './supervision-messages';

const db = proxyActivities<SupervisionActivities & Pick<ProvisionActivities, 'closeAndRefund'>>(DB_WRITES);
// A channel that stays down for a day must not hold the flow: the failure is recorded by the notify activity.
const notify = proxyActivities<NotifyActivities>(notifications('24 hours'));

/**
 * A run continues as new once its history passes this many events, at a quiet moment (no handler
 * running). One action adds about 15 events, so no run exceeds this plus one action's worth
 * (docs/supervision.md; asserted by tests/workflows/supervision.test.ts).
 */
export const SUPERVISION_HISTORY_ROLL = 500;
/**
 * The written bound: the roll, plus what the Updates in flight when it is passed add before the run is quiet
 * (the server admits at most 10 at once, each under 30 events with its notifications), plus the carried
 * notifications re-sent at the start of the next run.
 */
export const SUPERVISION_HISTORY_BOUND = 1_000;

const refusal = (r: Refusal) => ApplicationFailure.create({ type: r.code === 'forbidden' ? SUPERVISION_FORBIDDEN : SUPERVISION_CONFLICT, message: r.reason, nonRetryable: true });
const invalid = (message: string) => ApplicationFailure.create({ type: 'InvalidSupervisionInput', message, nonRetryable: true });
const ids = (a: Attachment[] | undefined) => (a ?? []).map((x) => x.id);

/**
 * The service supervision of one paid order line (docs/supervision.md): requirement, its review,
 * delivery with proof, acceptance; appeals that freeze the flow until an operator decides; the
 * acceptance timeout that appeals on the seller's behalf; hardware auto-acceptance; negotiated refunds.
 * Every action is one Update that answers after its log entry and read model are written.
 */
export async function supervision(input: SupervisionInput): Promise<SupervisionState> {
  const { orderLineId, rules } = input;
  const state: SupervisionState = input.carried
    ? { ...input.carried, run: input.carried.run + 1 }
    : {
      orderLineId, logSeq: 0, deliveredAt: null, actualStartAt: null, acceptedAt: null, deliveryProof: [], lastDecision: null, run: 1,
      facts: {
        kind: input.kind, stage: firstStage(input.kind), stageEnteredAt: input.paidAt, rejections: { buyer: 0, seller: 0 },
        appeal: null, refundRequestedAt: null, signedOffAt: null,
      },
    };
  // Held until the first log entry is written, so no action can take its number.
  let busy = !input.carried;
  let version = 0;
  // Notifications not yet confirmed sent, by dedupe key: a run that continues as new hands them over.
  const outbox = new Map<string, Note>();

  /** One change at a time: validators ran before the lock, so each handler checks again inside it. */
  async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await condition(() => !busy);
    busy = true;
    try {
      await fireDue();
      return await fn();
    } finally { busy = false; version++; }
  }

  const appealState = (s: SupervisionState): AppealState => (s.facts.appeal ? 'open' : s.lastDecision ? 'decided' : 'none');
  const view = (s: SupervisionState): SupervisionView => ({
    stage: s.facts.stage, stageEnteredAt: s.facts.stageEnteredAt, appealState: appealState(s),
    appeal: s.facts.appeal ? { ...s.facts.appeal, openedAt: new Date(s.facts.appeal.openedAt).toISOString() }
      : s.lastDecision ? { decision: { ...s.lastDecision, at: new Date(s.lastDecision.at).toISOString() } } : null,
    refundRequestedAt: s.facts.refundRequestedAt, buyerRejections: s.facts.rejections.buyer, sellerRejections: s.facts.rejections.seller,
    deliveredAt: s.deliveredAt, signedOffAt: s.facts.signedOffAt, actualStartAt: s.actualStartAt, acceptedAt: s.acceptedAt,
  });
  // Our own faults (a database away for long, a bug) hold the flow in `stuck` for operators; it never fails.
  const guard = createStuckGuard({ subjectId: orderLineId, onChange: () => publish() });
  const publish = () => {
    const f = state.facts;
    upsertSearchAttributes([
      { key: SUPERVISION_SA.stage, value: f.stage },
      { key: SUPERVISION_SA.appeal, value: appealState(state) },
      { key: SUPERVISION_SA.idleSince, value: new Date(f.stageEnteredAt) },
      { key: PROVISION_SA.productId, value: input.productId },
      { key: SA.merchantId, value: input.merchantId },
    ]);
    const appeal = f.appeal ? ` · **appeal open** (${f.appeal.ground.replace(/_/g, ' ')})` : '';
    const stuck = guard.current();
    setCurrentDetails(`**${f.stage}**${appeal} · idle since ${new Date(f.stageEnteredAt).toISOString()} · rejections buyer ${f.rejections.buyer}, seller ${f.rejections.seller} · ${state.logSeq} log entries${stuck ? ` · **stuck** in ${stuck.step}: ${stuck.failureType}` : ''}`);
  };

  const parties: Record<Party | 'operations', NotifyParty> = {
    buyer: { kind: 'principal', principalId: input.buyerId }, seller: { kind: 'merchant', merchantId: input.merchantId }, operations: { kind: 'supervisors' },
  };
  const send = (n: Note) => {
    outbox.set(n.dedupeKey, n);
    void notify.notifyParty(n).catch(() => undefined).finally(() => { outbox.delete(n.dedupeKey); });
  };
  /**
   * Notifications go out beside the flow: an Update does not wait for them. The last run ends only after
   * them; a run that continues as new passes the unsent ones on (they are de-duplicated by key).
   */
  const tell = (to: (Party | 'operations')[], template: string, vars: Record<string, unknown>) => {
    for (const p of to) send({ dedupeKey: `${orderLineId}:${state.logSeq}:${template}:${p}`, party: parties[p], template, vars: { orderLineId, ...vars } });
  };
  for (const n of input.carriedNotes ?? []) send(n);

  /** Writes the next log entry with the state it leads to, then makes that state the workflow's. */
  async function record(next: SupervisionState, e: Omit<LogEntry, 'seq' | 'at' | 'stage' | 'stageAfter'>, at: number) {
    const entry: LogEntry = { ...e, seq: state.logSeq + 1, at, stage: state.facts.stage, stageAfter: next.facts.stage };
    next.logSeq = entry.seq;
    // Values the database refuses (a poison comment) refuse the action with the reason; nothing is written.
    await guard.run(`record ${e.action}`, () => db.recordAction({ orderLineId, entry, view: view(next) }), { passThrough: [FAILURE.dataRejected] })
      .catch((err: unknown) => {
        if (err instanceof ActivityFailure) throw invalid(`the action was not recorded: ${failureOf(err).message}; change its text and send it again`);
        throw err;
      });
    Object.assign(state, next);
    publish();
  }

  async function complete(at: number) {
    state.acceptedAt = at;
    await guard.run('complete', () => db.completeLine({ orderLineId, acceptedAt: at, validFrom: validityStart(at, state.actualStartAt) }));
    tell(['buyer', 'seller'], 'supervision.completed', { acceptedAt: new Date(at).toISOString() });
  }
  async function refund(reason: string) {
    await guard.run('refund', () => db.closeAndRefund({ orderLineId, status: 'cancelled', reason }));
    tell(['buyer', 'seller'], 'supervision.refunded', { reason });
  }

  async function appeal(a: Appeal, actor: ActorRef | null, attachments: string[]) {
    const next = { ...state, facts: openAppeal(state.facts, a) };
    await record(next, {
      actorRole: actor?.role ?? 'system', actorId: actor?.id ?? null, action: 'appeal', comment: a.reason, attachments,
      data: { by: a.by, onBehalf: a.onBehalf, ground: a.ground },
    }, a.openedAt);
    tell(['buyer', 'seller', 'operations'], 'supervision.appeal_opened', { by: a.by, ground: a.ground.replace(/_/g, ' '), reason: a.reason });
  }

  // ---- validators: refuse before anything enters history ----
  const checkAct = (r: ActRequest) => {
    if (!r?.actor?.role || !r.actor.id || !r.action) throw invalid('actor and action are required');
    const no = refuseAction(state.facts, r.actor.role, r.action);
    if (no) throw refusal(no);
    if (r.action === 'deliver') {
      const missing = missingProof(input.deliveryTemplate, (r.attachments ?? []).map((a) => a.kind));
      if (missing.length) throw invalid(`the delivery lacks proof required by the product's delivery template: ${missing.join(', ')}`);
      if (r.actualStartAt !== undefined && (r.actualStartAt < input.paidAt || r.actualStartAt > Date.now())) throw invalid('actualStartAt must lie between payment and now');
    }
    if (r.action === 'signOff' && r.signedOffAt !== undefined && (r.signedOffAt < input.paidAt || r.signedOffAt > Date.now())) throw invalid('signedOffAt must lie between payment and now');
  };
  const checkAppeal = (r: AppealRequest) => {
    if (!r?.actor?.id || (r.actor.role !== 'buyer' && r.actor.role !== 'seller') || !r.reason) throw invalid('a party and a reason are required');
    const g = appealGround(state.facts, r.actor.role, Date.now(), rules);
    if ('code' in g) throw refusal(g);
    return g.ground;
  };
  const checkDecision = (r: DecideRequest) => {
    if (!r?.operatorId || !r.decision) throw invalid('operatorId and decision are required');
    const no = refuseDecision(state.facts, r.decision);
    if (no) throw refusal(no);
  };

  setHandler(supervisionStateQuery, () => state, { description: 'The flow: stage, idle since, rejections, open appeal, refund request, log entries so far.' });

  setHandler(actUpdate, (r) => exclusive(async () => {
    checkAct(r);
    const now = Date.now();
    const next: SupervisionState = { ...state, facts: applyAction(state.facts, r.action, now, r.signedOffAt) };
    if (r.action === 'deliver') {
      next.deliveredAt = now;
      next.actualStartAt = r.actualStartAt ?? null;
      next.deliveryProof = ids(r.attachments);
    }
    const data: Record<string, unknown> = {};
    if (r.actualStartAt !== undefined) data.actualStartAt = new Date(r.actualStartAt).toISOString();
    if (r.action === 'signOff') data.signedOffAt = new Date(next.facts.signedOffAt!).toISOString();
    if (r.attachments?.length) data.proof = r.attachments;
    await record(next, { actorRole: r.actor.role, actorId: r.actor.id, action: r.action, comment: r.comment ?? null, attachments: ids(r.attachments), data }, now);
    tell([r.actor.role === 'buyer' ? 'seller' : 'buyer'], 'supervision.action', { action: r.action, stage: state.facts.stage });
    if (state.facts.stage === 'completed') await complete(now);
    if (state.facts.stage === 'refunded') await refund(`negotiated refund approved by the seller${r.comment ? `: ${r.comment}` : ''}`);
    return state;
  }), { validator: checkAct, description: 'A party acts in its stage: requirement, its confirmation or rejection, delivery with proof, acceptance or rejection, sign-off, refund request and answer.' });

  setHandler(appealUpdate, (r) => exclusive(async () => {
    const ground = checkAppeal(r);
    await appeal({ by: r.actor.role, onBehalf: false, ground, openedAt: Date.now(), reason: r.reason }, r.actor, ids(r.attachments));
    return state;
  }), { validator: (r) => { checkAppeal(r); }, description: 'A party appeals: the flow freezes until an operator decides.' });

  setHandler(decideUpdate, (r) => exclusive(async () => {
    checkDecision(r);
    const now = Date.now();
    const next: SupervisionState = { ...state, facts: decideAppeal(state.facts, r.decision, now), lastDecision: { ...r.decision, at: now, operatorId: r.operatorId } };
    await record(next, {
      actorRole: 'operator', actorId: r.operatorId, action: 'decideAppeal', comment: r.comment ?? null,
      data: { ...r.decision, ...(r.decision.decision === 'complete' ? { acceptedOnBehalfOf: 'buyer' } : {}) },
    }, now);
    tell(['buyer', 'seller'], 'supervision.appeal_decided', { decision: r.decision.decision.replace(/_/g, ' '), stage: state.facts.stage });
    if (r.decision.decision === 'complete') await complete(now);
    if (r.decision.decision === 'refund') await refund(`appeal decided by operations: refund${r.comment ? ` (${r.comment})` : ''}`);
    return state;
  }), { validator: checkDecision, description: 'An operator decides an open appeal: complete (accepted on the buyer\'s behalf), send back to a stage, or refund the buyer.' });

  /**
   * A due timer's effect, dated at its due instant (a timer fires a few milliseconds after it, or later
   * when the worker was away). Runs under the lock, and before every action, so an action that arrives
   * after the deadline finds the deadline's effect in place.
   */
  async function fireDue() {
    const t = nextTimer(state.facts, rules);
    if (!t || t.at > Date.now()) return;
    const at = t.at;
    if (t.does === 'open_appeal') {
      await appeal({ by: 'seller', onBehalf: true, ground: 'acceptance_timeout', openedAt: at, reason: `the buyer did not decide within ${rules.acceptanceTimeoutMs / 86_400_000} days of the delivery` }, null, state.deliveryProof);
      return;
    }
    const next: SupervisionState = { ...state, facts: { ...state.facts, stage: 'completed' as Stage, stageEnteredAt: at, refundRequestedAt: null } };
    await record(next, {
      actorRole: 'system', actorId: null, action: 'autoAccept', comment: `accepted automatically ${rules.hardwareAutoAcceptMs / 86_400_000} days after the logistics sign-off`,
      data: { signedOffAt: new Date(state.facts.signedOffAt!).toISOString() },
    }, at);
    await complete(at);
  }

  /** No handler running: a run continues as new only then. */
  const quiet = () => !busy && allHandlersFinished();
  const timeToRoll = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > SUPERVISION_HISTORY_ROLL;

  if (!input.carried) {
    const next = { ...state, logSeq: 1 };
    const opened: LogEntry = { seq: 1, at: Date.now(), actorRole: 'system', actorId: null, action: 'open', stage: state.facts.stage, stageAfter: state.facts.stage, data: { kind: input.kind } };
    await guard.run('open', () => db.openSupervision({ orderLineId, kind: input.kind, entry: opened, view: view(next) }));
    state.logSeq = 1;
    busy = false;
    tell(['buyer', 'seller'], 'supervision.action', { action: 'open', stage: state.facts.stage });
  }
  publish();

  while (isOpen(state.facts.stage)) {
    const t = nextTimer(state.facts, rules);
    const seen = version;
    const woken = () => version !== seen || (timeToRoll() && !busy);
    const moved = t ? await condition(woken, Math.max(1, t.at - Date.now())) : (await condition(woken), true);
    if (!moved) await exclusive(fireDue);
    if (timeToRoll() && isOpen(state.facts.stage)) {
      await condition(quiet);
      await continueAsNew<typeof supervision>({ ...input, carried: state, carriedNotes: [...outbox.values()] });
    }
  }
  await condition(() => quiet() && outbox.size === 0);
  return state;
}
