import { WorkflowUpdateFailedError } from '@temporalio/client';
import { eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, byKey, trialBalance } from '../../db/ledger';
import { ledgerEntries, notifications, orderLines, orders, supervisions } from '../../db/schema';
import { DAY_MS, type AppealDecision } from '../../domain/supervision';
import {
  actUpdate, appealUpdate, decideUpdate, SUPERVISION_CONFLICT, supervisionStateQuery,
  type ActorRef, type ActRequest, type Attachment, type SupervisionState,
} from '../../workflows/supervision-messages';
import { recordHistory } from '../support/replay';
import { startSupervisionHarness, type SupervisionHarness } from '../support/supervision-harness';

let h: SupervisionHarness;
beforeAll(async () => {
  h = await startSupervisionHarness();
  await h.startWorker();
});
afterAll(async () => h?.close());

type Line = Awaited<ReturnType<SupervisionHarness['paidLine']>>;
const PROOF: Attachment[] = [{ id: 'F-SOW', kind: 'statement_of_work' }, { id: 'F-ACC', kind: 'acceptance_document' }];
const act = (l: Line, actor: ActorRef, action: ActRequest['action'], extra: Partial<ActRequest> = {}) =>
  l.handle.executeUpdate(actUpdate, { args: [{ actor, action, ...extra }] });
const appeal = (l: Line, actor: ActorRef, reason = 'please look at this') =>
  l.handle.executeUpdate(appealUpdate, { args: [{ actor: actor as ActorRef & { role: 'buyer' | 'seller' }, reason }] });
const decide = (l: Line, decision: AppealDecision | { decision: 'send_back'; stage: string }) =>
  l.handle.executeUpdate(decideUpdate, { args: [{ operatorId: h.operator, decision: decision as AppealDecision, comment: 'decided after calls with both' }] });
const state = (l: Line): Promise<SupervisionState> => l.handle.query(supervisionStateQuery);
async function refused(p: Promise<unknown>, type: string, text: string) {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(WorkflowUpdateFailedError);
  expect((e as WorkflowUpdateFailedError).cause).toMatchObject({ type, message: expect.stringContaining(text) });
}
/** Requirement submitted and confirmed, delivered with proof: the line waits for acceptance. */
async function delivered(l: Line, extra: Partial<ActRequest> = {}) {
  await act(l, l.buyerRef, 'submitRequirement', { comment: 'two consultants on site', attachments: [{ id: 'F-REQ', kind: 'other' }] });
  await act(l, l.sellerRef, 'confirmRequirement');
  return act(l, l.sellerRef, 'deliver', { attachments: PROOF, comment: 'done', ...extra });
}
/** The state once the workflow has processed what is due (a timer fires moments after its instant). */
async function settled(l: Line, ok: (s: SupervisionState) => boolean) {
  for (let i = 0; i < 100; i++) { const s = await state(l); if (ok(s)) return s; await new Promise((r) => setTimeout(r, 50)); }
  throw new Error('the workflow did not get there');
}
const line = async (id: string) => (await h.db.select().from(orderLines).where(eq(orderLines.id, id)))[0]!;
const balance = (id: string) => balanceOf(h.db, id);
/** The settlement of a line: clearing pays the seller its share and the marketplace its commission (10% by default). */
async function settlement(lineId: string, price: number) {
  const t = await byKey(h.db, `settle:${lineId}`);
  expect(t).toMatchObject({ kind: 'settlement', grossCents: price, commissionCents: price / 10 });
  const entries = await h.db.select().from(ledgerEntries).where(eq(ledgerEntries.transactionId, t!.id));
  expect(entries.map((e) => e.amountCents).sort((a, b) => a - b)).toEqual([-price, price / 10, price - price / 10]);
  expect((await trialBalance(h.db)).totalCents).toBe(0);
}

describe('service supervision on the time-skipping server', () => {
  it('runs requirement, rejection, review, delivery and acceptance; the line completes and every action is logged once, in order', async () => {
    const l = await h.paidLine({ kind: 'manual_service', chargingMode: 'monthly' });
    await act(l, l.buyerRef, 'submitRequirement', { comment: 'v1' });
    const back = await act(l, l.sellerRef, 'rejectRequirement', { comment: 'too vague' });
    expect(back.facts).toMatchObject({ stage: 'requirement', rejections: { seller: 1, buyer: 0 } });
    await act(l, l.buyerRef, 'submitRequirement', { comment: 'v2' });
    await act(l, l.sellerRef, 'confirmRequirement');
    await refused(act(l, l.sellerRef, 'deliver', { attachments: [PROOF[0]!] }), 'InvalidSupervisionInput', 'lacks proof required by the product\'s delivery template: acceptance_document');
    await refused(act(l, l.buyerRef, 'accept'), SUPERVISION_CONFLICT, 'accept is not possible in stage delivery');
    const startedAt = l.paidAt + 3600_000;
    await h.env.sleep(2 * 3600_000);
    const d = await act(l, l.sellerRef, 'deliver', { attachments: PROOF, actualStartAt: startedAt });
    expect(d.facts.stage).toBe('acceptance');
    const done = await act(l, l.buyerRef, 'accept', { comment: 'thanks' });
    expect(done.facts.stage).toBe('completed');
    expect(done.acceptedAt).toBe(done.facts.stageEnteredAt);
    await l.handle.result();
    await recordHistory(l.handle, 'requirement-rejected-delivered-accepted');

    expect((await h.log(l.line.id)).map((e) => [e.seq, e.action, e.stage, e.stageAfter, e.actorRole])).toEqual([
      [1, 'open', 'requirement', 'requirement', 'system'],
      [2, 'submitRequirement', 'requirement', 'requirement_review', 'buyer'],
      [3, 'rejectRequirement', 'requirement_review', 'requirement', 'seller'],
      [4, 'submitRequirement', 'requirement', 'requirement_review', 'buyer'],
      [5, 'confirmRequirement', 'requirement_review', 'delivery', 'seller'],
      [6, 'deliver', 'delivery', 'acceptance', 'seller'],
      [7, 'accept', 'acceptance', 'completed', 'buyer'],
    ]);
    expect((await h.log(l.line.id))[5]).toMatchObject({ attachments: ['F-SOW', 'F-ACC'], actorId: l.seller, data: { actualStartAt: new Date(startedAt).toISOString() } });
    expect(await line(l.line.id)).toMatchObject({ status: 'delivered' });
    expect((await h.db.select().from(orders).where(eq(orders.id, l.line.orderId)))[0]!.status).toBe('completed');
    await settlement(l.line.id, 50_000);
    // A monthly line is valid for a month from the seller's actual start, not from acceptance.
    const [sv] = await h.db.select().from(supervisions).where(eq(supervisions.orderLineId, l.line.id));
    expect(sv).toMatchObject({ stage: 'completed', lastSeq: 7, validFrom: new Date(startedAt) });
    expect(sv!.validUntil!.getTime() - startedAt).toBeGreaterThanOrEqual(28 * DAY_MS);
  });

  it('opens an appeal on the seller\'s behalf exactly 5 days after delivery, with the proof; the flow is frozen (409)', async () => {
    const l = await h.paidLine({ kind: 'manual_service' });
    const d = await delivered(l);
    const deliveredAt = d.deliveredAt!;
    await h.skipTo(deliveredAt + 5 * DAY_MS - 1000);
    expect((await state(l)).facts.appeal).toBeNull();
    await h.skipTo(deliveredAt + 5 * DAY_MS);
    const s = await settled(l, (x) => x.facts.appeal !== null);
    expect(s.facts.appeal).toMatchObject({ by: 'seller', onBehalf: true, ground: 'acceptance_timeout', openedAt: deliveredAt + 5 * DAY_MS });
    const entry = (await h.log(l.line.id)).at(-1)!;
    expect(entry).toMatchObject({ action: 'appeal', actorRole: 'system', attachments: ['F-SOW', 'F-ACC'], at: new Date(deliveredAt + 5 * DAY_MS) });
    // Both parties and operations are told.
    const told = async () => new Set((await h.db.select().from(notifications).where(like(notifications.dedupeKey, `${l.line.id}:%:supervision.appeal_opened:%`))).map((n) => n.dedupeKey.split(':').at(-3)));
    for (let i = 0; i < 100 && (await told()).size < 3; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await told()).toEqual(new Set(['buyer', 'seller', 'operations']));

    for (const [who, action] of [[l.buyerRef, 'accept'], [l.buyerRef, 'rejectDelivery'], [l.buyerRef, 'requestRefund']] as const) {
      await refused(act(l, who, action), SUPERVISION_CONFLICT, 'an appeal is open since');
    }
    await refused(appeal(l, l.buyerRef), SUPERVISION_CONFLICT, 'an appeal is open since');
    expect((await h.log(l.line.id)).length).toBe(entry.seq);
    await recordHistory(l.handle, 'acceptance-timeout-appeal');
  });

  it('a seller may appeal after the buyer\'s fourth rejection, not after the third', async () => {
    const l = await h.paidLine({ kind: 'manual_service' });
    await delivered(l);
    for (let i = 1; i <= 3; i++) {
      await act(l, l.buyerRef, 'rejectDelivery', { comment: `not yet (${i})` });
      await act(l, l.sellerRef, 'deliver', { attachments: PROOF });
    }
    await refused(appeal(l, l.sellerRef), SUPERVISION_CONFLICT, 'the buyer rejected 3 time(s) (an appeal needs more than 3)');
    await act(l, l.buyerRef, 'rejectDelivery', { comment: 'not yet (4)' });
    const s = await appeal(l, l.sellerRef, 'the buyer keeps rejecting a finished delivery');
    expect(s.facts.appeal).toMatchObject({ by: 'seller', onBehalf: false, ground: 'counterpart_rejections' });
    await refused(act(l, l.sellerRef, 'deliver', { attachments: PROOF }), SUPERVISION_CONFLICT, 'an appeal is open');
  });

  it('idle for 5 days exactly is not enough; 5 days and a second is', async () => {
    const l = await h.paidLine({ kind: 'hardware' });
    await state(l);
    await h.skipTo(l.paidAt + 5 * DAY_MS);
    await refused(appeal(l, l.sellerRef), SUPERVISION_CONFLICT, 'the buyer has been idle in requirement for 5 d (an appeal needs more than 5 d)');
    await h.skipTo(l.paidAt + 5 * DAY_MS + 1000);
    expect((await appeal(l, l.sellerRef, 'no requirement in 5 days')).facts.appeal).toMatchObject({ ground: 'counterpart_idle', by: 'seller' });
  });

  it('accepts hardware automatically exactly 10 days after the logistics sign-off, with no acceptance-timeout appeal', async () => {
    const l = await h.paidLine({ kind: 'hardware', chargingMode: 'one_time' });
    await delivered(l);
    await h.env.sleep(DAY_MS);
    const signed = await act(l, l.sellerRef, 'signOff', { comment: 'courier: signed by the buyer' });
    const signedOffAt = signed.facts.signedOffAt!;
    await h.skipTo(signedOffAt + 10 * DAY_MS - 1000);
    expect((await state(l)).facts).toMatchObject({ stage: 'acceptance', appeal: null });
    await h.skipTo(signedOffAt + 10 * DAY_MS);
    const done = await l.handle.result();
    expect(done).toMatchObject({ acceptedAt: signedOffAt + 10 * DAY_MS, facts: { stage: 'completed' } });
    expect((await h.log(l.line.id)).at(-1)).toMatchObject({ action: 'autoAccept', actorRole: 'system', at: new Date(signedOffAt + 10 * DAY_MS) });
    await recordHistory(l.handle, 'hardware-auto-accepted');
    expect(await line(l.line.id)).toMatchObject({ status: 'delivered', expiresAt: null });
    await settlement(l.line.id, 50_000);
  });

  it('operator decision "complete" accepts on the buyer\'s behalf and completes the line', async () => {
    const l = await h.paidLine({ kind: 'manual_service' });
    await delivered(l);
    await appeal(l, l.buyerRef, 'not sure');
    const s = await decide(l, { decision: 'complete' });
    expect(s).toMatchObject({ facts: { stage: 'completed', appeal: null }, lastDecision: { decision: 'complete', operatorId: h.operator } });
    await l.handle.result();
    expect((await h.log(l.line.id)).at(-1)).toMatchObject({ action: 'decideAppeal', actorRole: 'operator', data: { decision: 'complete', acceptedOnBehalfOf: 'buyer' } });
    expect(await line(l.line.id)).toMatchObject({ status: 'delivered' });
    await settlement(l.line.id, 50_000);
    await recordHistory(l.handle, 'appeal-decided-complete');
  });

  it('operator decision "send back" returns the line to the named stage, where the parties act again', async () => {
    const l = await h.paidLine({ kind: 'manual_service' });
    await delivered(l);
    await appeal(l, l.buyerRef, 'the delivery is incomplete');
    await refused(decide(l, { decision: 'send_back', stage: 'nowhere' }), SUPERVISION_CONFLICT, 'has no stage nowhere');
    const s = await decide(l, { decision: 'send_back', stage: 'delivery' });
    expect(s.facts).toMatchObject({ stage: 'delivery', appeal: null, rejections: { buyer: 0, seller: 0 } });
    expect(s.facts.stageEnteredAt).toBe(s.lastDecision!.at);
    await act(l, l.sellerRef, 'deliver', { attachments: PROOF });
    expect((await act(l, l.buyerRef, 'accept')).facts.stage).toBe('completed');
  });

  it('operator decision "refund" returns the price to the buyer once and closes the line', async () => {
    const l = await h.paidLine({ kind: 'license', priceCents: 30_000, balanceCents: 100_000 });
    // A licence starts at the seller's delivery, with no requirement stage.
    expect((await state(l)).facts.stage).toBe('delivery');
    await appeal(l, l.buyerRef, 'no licence code after a week');
    await refused(decide(l, { decision: 'send_back', stage: 'requirement' }), SUPERVISION_CONFLICT, 'a license line has no stage requirement');
    expect((await decide(l, { decision: 'refund' })).facts.stage).toBe('refunded');
    await l.handle.result();
    expect(await balance(l.buyer)).toBe(100_000);
    expect(await byKey(h.db, `refund:${l.line.id}`)).toMatchObject({ kind: 'refund', grossCents: 30_000 });
    expect(await byKey(h.db, `settle:${l.line.id}`)).toBeUndefined();
    expect(await line(l.line.id)).toMatchObject({ status: 'cancelled' });
    expect((await trialBalance(h.db)).totalCents).toBe(0);
    await recordHistory(l.handle, 'licence-appeal-refunded');
  });

  it('a negotiated refund: the seller rejects one request (the flow goes on) and approves the next (refunded)', async () => {
    const l = await h.paidLine({ kind: 'manual_service', priceCents: 20_000, balanceCents: 50_000 });
    await act(l, l.buyerRef, 'submitRequirement');
    await act(l, l.buyerRef, 'requestRefund', { comment: 'changed plans' });
    await refused(act(l, l.buyerRef, 'requestRefund'), SUPERVISION_CONFLICT, 'a refund request is already waiting');
    const no = await act(l, l.sellerRef, 'rejectRefund', { comment: 'work already started' });
    expect(no.facts).toMatchObject({ stage: 'requirement_review', refundRequestedAt: null, rejections: { seller: 1 } });
    await act(l, l.sellerRef, 'confirmRequirement');
    await act(l, l.buyerRef, 'requestRefund', { comment: 'please' });
    const yes = await act(l, l.sellerRef, 'approveRefund');
    expect(yes.facts.stage).toBe('refunded');
    await l.handle.result();
    expect(await balance(l.buyer)).toBe(50_000);
    expect(await byKey(h.db, `settle:${l.line.id}`)).toBeUndefined();
    expect(await line(l.line.id)).toMatchObject({ status: 'cancelled' });
    expect((await h.log(l.line.id)).map((e) => e.action)).toEqual(['open', 'submitRequirement', 'requestRefund', 'rejectRefund', 'confirmRequirement', 'requestRefund', 'approveRefund']);
    await recordHistory(l.handle, 'negotiated-refund');
  });

  it('a refund request left unanswered more than 10 days lets the buyer appeal on that ground', async () => {
    const l = await h.paidLine({ kind: 'hardware' });
    await act(l, l.buyerRef, 'requestRefund');
    const at = (await state(l)).facts.refundRequestedAt!;
    await h.skipTo(at + 10 * DAY_MS + 1000);
    // The buyer's idle requirement stage does not help the buyer; the unanswered refund does.
    expect((await appeal(l, l.buyerRef, 'no answer')).facts.appeal).toMatchObject({ ground: 'refund_unanswered' });
  });

  it('refuses an action whose text the database will not take, writes nothing, and goes on', async () => {
    const l = await h.paidLine({ kind: 'manual_service' });
    await refused(act(l, l.buyerRef, 'submitRequirement', { comment: 'bad \u0000 byte' }), 'InvalidSupervisionInput', 'the action was not recorded');
    expect((await h.log(l.line.id)).map((e) => e.action)).toEqual(['open']);
    expect((await state(l)).facts.stage).toBe('requirement');
    expect((await act(l, l.buyerRef, 'submitRequirement', { comment: 'fine' })).facts.stage).toBe('requirement_review');
    expect((await h.log(l.line.id)).map((e) => e.seq)).toEqual([1, 2]);
  });
});
