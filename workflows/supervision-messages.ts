/** What the API, the tests and the supervision workflow share. Imported by workflow code: Temporal packages and domain only. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Party as NotifyParty } from '../activities/notify';
import type {
  Actor, Appeal, AppealDecision, Party, PartyAction, ProductKind, ProofKind, SupervisionFacts, SupervisionRules,
} from '../domain/supervision';

export const SUPERVISION_PREFIX = 'supervision:';
export const supervisionWorkflowId = (orderLineId: string) => `${SUPERVISION_PREFIX}${orderLineId}`;
export const orderLineIdFromSupervisionId = (workflowId: string): string | undefined =>
  workflowId.startsWith(SUPERVISION_PREFIX) ? workflowId.slice(SUPERVISION_PREFIX.length) : undefined;

export interface SupervisionInput {
  orderLineId: string;
  buyerId: string;
  merchantId: string;
  productId: string;
  kind: ProductKind;
  /** Proof kinds every delivery must include (the product's delivery template). */
  deliveryTemplate: ProofKind[];
  rules: SupervisionRules;
  /** Epoch ms the line was paid: the first stage counts from it, however late the workflow starts. */
  paidAt: number;
  /** The state a previous run handed over when it continued as new, and its notifications not yet sent. */
  carried?: SupervisionState;
  carriedNotes?: Note[];
}

/** A notification to a party, by id only (no personal data in history); `dedupeKey` makes resending it harmless. */
export interface Note { dedupeKey: string; party: NotifyParty; template: string; vars: Record<string, unknown> }

export interface Attachment { id: string; kind: ProofKind }

export interface SupervisionState {
  orderLineId: string;
  facts: SupervisionFacts;
  /** Sequence number of the last operation-log entry written. */
  logSeq: number;
  deliveredAt: number | null;
  actualStartAt: number | null;
  acceptedAt: number | null;
  /** The latest delivery's proof: the evidence of an appeal opened at the acceptance timeout. */
  deliveryProof: string[];
  /** How the last appeal ended, shown until another opens. */
  lastDecision: (AppealDecision & { at: number; operatorId: string }) | null;
  /** Runs of this workflow so far (continue-as-new carries the count). */
  run: number;
}

/** Who sends a message: the API passes the authenticated principal. */
export interface ActorRef { role: Exclude<Actor, 'system'>; id: string }

export interface ActRequest {
  actor: ActorRef;
  action: PartyAction;
  comment?: string;
  attachments?: Attachment[];
  /** deliver: when the seller actually started the service (epoch ms), if it says so. */
  actualStartAt?: number;
  /** signOff: when logistics recorded the buyer's signature (epoch ms); default now. */
  signedOffAt?: number;
}
export interface AppealRequest { actor: ActorRef & { role: Party }; reason: string; attachments?: Attachment[] }
export interface DecideRequest { operatorId: string; decision: AppealDecision; comment?: string }

export const actUpdate = defineUpdate<SupervisionState, [ActRequest]>('act');
export const appealUpdate = defineUpdate<SupervisionState, [AppealRequest]>('appeal');
export const decideUpdate = defineUpdate<SupervisionState, [DecideRequest]>('decideAppeal');
export const supervisionStateQuery = defineQuery<SupervisionState>('state');

/** Failure types of the validators: the API answers 409 (not now) and 403 (not this party's action). */
export const SUPERVISION_CONFLICT = 'SupervisionConflict';
export const SUPERVISION_FORBIDDEN = 'SupervisionForbidden';

export type AppealState = 'none' | 'open' | 'decided';
export const SUPERVISION_SA = {
  stage: defineSearchAttributeKey('SupervisionStage', SearchAttributeType.KEYWORD),
  appeal: defineSearchAttributeKey('SupervisionAppeal', SearchAttributeType.KEYWORD),
  idleSince: defineSearchAttributeKey('SupervisionIdleSince', SearchAttributeType.DATETIME),
} as const;

export type { Appeal };
