/**
 * Service supervision (spec §4, docs/supervision.md): the stages of a supervised order line, who may act
 * in which, when an appeal may be opened and the instants the flow's timers fire. Pure functions: the
 * workflow, its validators, the API and the tests share them. No Node built-ins (the workflow bundles it).
 */

/** Open stages, in order, then the two ends. A licence line starts at `delivery` (no requirement). */
export const OPEN_STAGES = ['requirement', 'requirement_review', 'delivery', 'acceptance'] as const;
export type OpenStage = (typeof OPEN_STAGES)[number];
export type Stage = OpenStage | 'completed' | 'refunded';
export type Party = 'buyer' | 'seller';
export type Actor = Party | 'operator' | 'system';
export type ProductKind = 'saas' | 'image' | 'license' | 'manual_service' | 'hardware' | 'api';

/** Delivery types that are always supervised; SaaS is when its seller says so at listing; images and APIs never. */
export const ALWAYS_SUPERVISED: readonly ProductKind[] = ['license', 'manual_service', 'hardware'];
export const MAY_BE_SUPERVISED: readonly ProductKind[] = [...ALWAYS_SUPERVISED, 'saas'];

/** Proof a seller uploads with a delivery (spec §4.1 step 4); a product's delivery template names the required kinds. */
export const PROOF_KINDS = ['statement_of_work', 'acceptance_document', 'screenshot', 'receipt', 'other'] as const;
export type ProofKind = (typeof PROOF_KINDS)[number];

/** Whose turn it is in each open stage: the other party waits, and may appeal when this one stays idle. */
export const STAGE_ACTOR: Record<OpenStage, Party> = {
  requirement: 'buyer', requirement_review: 'seller', delivery: 'seller', acceptance: 'buyer',
};

export const firstStage = (kind: ProductKind): OpenStage => (kind === 'license' ? 'delivery' : 'requirement');
/** Stages an operator may send an appeal back to: the open stages this kind of line passes through. */
export const stagesOf = (kind: ProductKind): OpenStage[] => OPEN_STAGES.slice(OPEN_STAGES.indexOf(firstStage(kind)));
export const isOpen = (s: Stage): s is OpenStage => (OPEN_STAGES as readonly string[]).includes(s);

/** Every duration and limit of the flow, from configuration, snapshotted into the workflow's input. */
export interface SupervisionRules {
  /** A party idle in its own stage for strictly more than this may be appealed against. */
  idleLimitMs: Record<OpenStage, number>;
  /** The buyer not deciding this long after delivery opens an appeal on the seller's behalf. */
  acceptanceTimeoutMs: number;
  /** A hardware line still waiting for acceptance this long after the logistics sign-off is accepted. */
  hardwareAutoAcceptMs: number;
  /** A seller leaving a negotiated refund unanswered strictly longer than this may be appealed against. */
  refundAnswerLimitMs: number;
  /** More rejections than this by a party make an appeal against it possible (the 4th with 3). */
  rejectionLimit: number;
  /** The buyer guide lets buyers appeal at any stage at any time. */
  buyerMayAlwaysAppeal: boolean;
}

export const DAY_MS = 86_400_000;
/** The spec's figures (§4.2, §4.1 hardware, §4.2 refund). */
export const DEFAULT_RULES: SupervisionRules = {
  idleLimitMs: { requirement: 5 * DAY_MS, requirement_review: 5 * DAY_MS, delivery: 5 * DAY_MS, acceptance: 5 * DAY_MS },
  acceptanceTimeoutMs: 5 * DAY_MS,
  hardwareAutoAcceptMs: 10 * DAY_MS,
  refundAnswerLimitMs: 10 * DAY_MS,
  rejectionLimit: 3,
  buyerMayAlwaysAppeal: true,
};

export type AppealGround = 'counterpart_idle' | 'counterpart_rejections' | 'refund_unanswered' | 'buyer_any_stage' | 'acceptance_timeout';

export interface Appeal {
  /** Who the appeal is for: the system opens one on the seller's behalf at the acceptance timeout. */
  by: Party;
  onBehalf: boolean;
  ground: AppealGround;
  openedAt: number;
  reason: string;
}

/** What the rules need to know of a line's supervision. */
export interface SupervisionFacts {
  kind: ProductKind;
  stage: Stage;
  /** When the current stage began: the acting party is idle since then. */
  stageEnteredAt: number;
  /** Rejections by each party since the line started or an operator last sent it back. */
  rejections: Record<Party, number>;
  appeal: Appeal | null;
  refundRequestedAt: number | null;
  /** Hardware: when logistics recorded the buyer's signature. */
  signedOffAt: number | null;
}

export type PartyAction =
  | 'submitRequirement' | 'confirmRequirement' | 'rejectRequirement' | 'deliver' | 'accept' | 'rejectDelivery'
  | 'signOff' | 'requestRefund' | 'approveRefund' | 'rejectRefund';

/** Which party takes each action, and in which stages. */
const ACTIONS: Record<PartyAction, { by: Party | 'seller_or_operator'; stages: readonly OpenStage[] | 'any' }> = {
  submitRequirement: { by: 'buyer', stages: ['requirement'] },
  confirmRequirement: { by: 'seller', stages: ['requirement_review'] },
  rejectRequirement: { by: 'seller', stages: ['requirement_review'] },
  deliver: { by: 'seller', stages: ['delivery'] },
  accept: { by: 'buyer', stages: ['acceptance'] },
  rejectDelivery: { by: 'buyer', stages: ['acceptance'] },
  signOff: { by: 'seller_or_operator', stages: ['delivery', 'acceptance'] },
  requestRefund: { by: 'buyer', stages: 'any' },
  approveRefund: { by: 'seller', stages: 'any' },
  rejectRefund: { by: 'seller', stages: 'any' },
};

/** Why an action is refused: `forbidden` (not this actor's action) or `conflict` (not now); the API maps them to 403/409. */
export interface Refusal { code: 'forbidden' | 'conflict'; reason: string }

const closedReason = (s: Stage) => `the supervision is ${s}`;
const appealReason = (a: Appeal) =>
  `an appeal is open since ${new Date(a.openedAt).toISOString()} (${a.onBehalf ? `on the ${a.by}'s behalf` : `by the ${a.by}`}, ${a.ground.replace(/_/g, ' ')}); the flow is frozen until an operator decides`;

/** Null when `actor` may take `action` now; otherwise why not. */
export function refuseAction(f: SupervisionFacts, actor: Actor, action: PartyAction): Refusal | null {
  const rule = ACTIONS[action];
  const allowed = rule.by === 'seller_or_operator' ? actor === 'seller' || actor === 'operator' : actor === rule.by;
  if (!allowed) return { code: 'forbidden', reason: `${action} is the ${rule.by.replace(/_/g, ' ')}'s action` };
  if (!isOpen(f.stage)) return { code: 'conflict', reason: closedReason(f.stage) };
  if (f.appeal) return { code: 'conflict', reason: appealReason(f.appeal) };
  if (rule.stages !== 'any' && !rule.stages.includes(f.stage)) {
    return { code: 'conflict', reason: `${action} is not possible in stage ${f.stage} (only in ${rule.stages.join(', ')})` };
  }
  if (action === 'signOff' && f.kind !== 'hardware') return { code: 'conflict', reason: 'only hardware lines have a logistics sign-off' };
  if (action === 'requestRefund' && f.refundRequestedAt !== null) return { code: 'conflict', reason: 'a refund request is already waiting for the seller' };
  if ((action === 'approveRefund' || action === 'rejectRefund') && f.refundRequestedAt === null) return { code: 'conflict', reason: 'there is no refund request to answer' };
  return null;
}

const fmt = (ms: number) => {
  const d = Math.floor(ms / DAY_MS);
  const rest = Math.floor((ms % DAY_MS) / 1000);
  return `${d} d${rest ? ` ${rest} s` : ''}`;
};

/** Waiting is counted in whole seconds, as people read it: 5 days and 0.9 s is still 5 days. */
const wholeSeconds = (ms: number) => Math.floor(ms / 1000) * 1000;

/**
 * Whether `by` may appeal now, and on which ground. The party whose turn it is in an open stage is idle
 * since the stage began; strictly more than the stage's limit makes it appealable, as do strictly more
 * rejections than the limit, and (for the buyer) a refund request unanswered past its limit or, when the
 * rules allow it, any stage at all. Grounds are tried most specific first, so the record says why.
 */
export function appealGround(f: SupervisionFacts, by: Party, now: number, rules: SupervisionRules): { ground: AppealGround } | Refusal {
  if (!isOpen(f.stage)) return { code: 'conflict', reason: closedReason(f.stage) };
  if (f.appeal) return { code: 'conflict', reason: appealReason(f.appeal) };
  const other: Party = by === 'buyer' ? 'seller' : 'buyer';
  const idleFor = wholeSeconds(now - f.stageEnteredAt);
  const limit = rules.idleLimitMs[f.stage];
  if (STAGE_ACTOR[f.stage] === other && idleFor > limit) return { ground: 'counterpart_idle' };
  if (f.rejections[other] > rules.rejectionLimit) return { ground: 'counterpart_rejections' };
  if (by === 'buyer' && f.refundRequestedAt !== null && wholeSeconds(now - f.refundRequestedAt) > rules.refundAnswerLimitMs) return { ground: 'refund_unanswered' };
  if (by === 'buyer' && rules.buyerMayAlwaysAppeal) return { ground: 'buyer_any_stage' };
  const idle = STAGE_ACTOR[f.stage] === other
    ? `the ${other} has been idle in ${f.stage} for ${fmt(idleFor)} (an appeal needs more than ${fmt(limit)})`
    : `it is your turn in ${f.stage}`;
  return {
    code: 'conflict',
    reason: `no ground for an appeal yet: ${idle}, and the ${other} rejected ${f.rejections[other]} time(s) (an appeal needs more than ${rules.rejectionLimit})`,
  };
}

/** The instant the acceptance timeout opens an appeal on the seller's behalf, or null when no such timer runs. */
export function acceptanceTimeoutAt(f: SupervisionFacts, rules: SupervisionRules): number | null {
  if (f.stage !== 'acceptance' || f.appeal || f.kind === 'hardware') return null;
  return f.stageEnteredAt + rules.acceptanceTimeoutMs;
}

/**
 * Hardware: accepted automatically once it has waited for acceptance the limit after the logistics
 * sign-off. A sign-off recorded before the delivery, or before an operator sent the line back to
 * acceptance, counts from the start of the acceptance stage instead.
 */
export function hardwareAutoAcceptAt(f: SupervisionFacts, rules: SupervisionRules): number | null {
  if (f.stage !== 'acceptance' || f.appeal || f.kind !== 'hardware' || f.signedOffAt === null) return null;
  return Math.max(f.signedOffAt, f.stageEnteredAt) + rules.hardwareAutoAcceptMs;
}

/** The next instant a timer of the flow fires and what it does, or null while the flow only waits for people. */
export function nextTimer(f: SupervisionFacts, rules: SupervisionRules): { at: number; does: 'open_appeal' | 'auto_accept' } | null {
  const appeal = acceptanceTimeoutAt(f, rules);
  if (appeal !== null) return { at: appeal, does: 'open_appeal' };
  const accept = hardwareAutoAcceptAt(f, rules);
  return accept !== null ? { at: accept, does: 'auto_accept' } : null;
}

/** The stage an action leads to (the same stage for actions that do not move it). */
export function stageAfter(f: SupervisionFacts, action: PartyAction): Stage {
  switch (action) {
    case 'submitRequirement': return 'requirement_review';
    case 'confirmRequirement': return 'delivery';
    case 'rejectRequirement': return 'requirement';
    case 'deliver': return 'acceptance';
    case 'accept': return 'completed';
    case 'rejectDelivery': return 'delivery';
    case 'approveRefund': return 'refunded';
    default: return f.stage;
  }
}

/** The facts after `actor` took `action` at `now` (the caller checked `refuseAction` first). */
export function applyAction(f: SupervisionFacts, action: PartyAction, now: number, signedOffAt?: number): SupervisionFacts {
  const stage = stageAfter(f, action);
  const next: SupervisionFacts = { ...f, rejections: { ...f.rejections }, stage, stageEnteredAt: stage === f.stage ? f.stageEnteredAt : now };
  if (action === 'rejectRequirement' || action === 'rejectRefund') next.rejections.seller++;
  if (action === 'rejectDelivery') next.rejections.buyer++;
  if (action === 'requestRefund') next.refundRequestedAt = now;
  // A refund request ends with its answer, and with any end of the flow.
  if (action === 'approveRefund' || action === 'rejectRefund' || !isOpen(stage)) next.refundRequestedAt = null;
  if (action === 'signOff') next.signedOffAt = signedOffAt ?? now;
  return next;
}

/** An appeal freezes the flow; a pending refund request is folded into it (the operator's decision covers it). */
export function openAppeal(f: SupervisionFacts, appeal: Appeal): SupervisionFacts {
  return { ...f, appeal, refundRequestedAt: null };
}

export type AppealDecision = { decision: 'complete' } | { decision: 'send_back'; stage: OpenStage } | { decision: 'refund' };

export function refuseDecision(f: SupervisionFacts, d: AppealDecision): Refusal | null {
  if (!isOpen(f.stage)) return { code: 'conflict', reason: closedReason(f.stage) };
  if (!f.appeal) return { code: 'conflict', reason: 'no appeal is open' };
  if (d.decision === 'send_back' && !stagesOf(f.kind).includes(d.stage)) {
    return { code: 'conflict', reason: `a ${f.kind} line has no stage ${String(d.stage)} (it has ${stagesOf(f.kind).join(', ')})` };
  }
  return null;
}

/**
 * The operator's decision closes the appeal: complete (accepted on the buyer's behalf), refund, or send
 * back to a stage, which starts afresh: its party is idle from now and the rejection counts start over.
 */
export function decideAppeal(f: SupervisionFacts, d: AppealDecision, now: number): SupervisionFacts {
  const base = { ...f, appeal: null, refundRequestedAt: null };
  if (d.decision === 'complete') return { ...base, stage: 'completed', stageEnteredAt: now };
  if (d.decision === 'refund') return { ...base, stage: 'refunded', stageEnteredAt: now };
  return { ...base, stage: d.stage, stageEnteredAt: now, rejections: { buyer: 0, seller: 0 } };
}

/** Missing proof kinds for a delivery, by the product's delivery template. */
export const missingProof = (template: readonly ProofKind[], given: readonly ProofKind[]) => template.filter((k) => !given.includes(k));

/** Validity of a periodic line starts at the seller's actual start time when given, else at acceptance (spec §4.1). */
export const validityStart = (acceptedAt: number, actualStartAt: number | null) => actualStartAt ?? acceptedAt;
