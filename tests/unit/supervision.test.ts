import { describe, expect, it } from 'vitest';
import {
  acceptanceTimeoutAt, appealGround, applyAction, DAY_MS, decideAppeal, DEFAULT_RULES, firstStage, hardwareAutoAcceptAt,
  missingProof, nextTimer, openAppeal, refuseAction, refuseDecision, stagesOf, validityStart, type SupervisionFacts,
} from '../../domain/supervision';

const T0 = Date.parse('2026-03-02T02:00:00Z');
const facts = (o: Partial<SupervisionFacts> = {}): SupervisionFacts => ({
  kind: 'manual_service', stage: 'requirement', stageEnteredAt: T0, rejections: { buyer: 0, seller: 0 },
  appeal: null, refundRequestedAt: null, signedOffAt: null, ...o,
});
const sellerRules = { ...DEFAULT_RULES, buyerMayAlwaysAppeal: false };

describe('stages', () => {
  it('licences start at delivery without a requirement; other kinds at the requirement', () => {
    expect(firstStage('license')).toBe('delivery');
    expect(firstStage('manual_service')).toBe('requirement');
    expect(firstStage('hardware')).toBe('requirement');
    expect(stagesOf('license')).toEqual(['delivery', 'acceptance']);
    expect(stagesOf('saas')).toEqual(['requirement', 'requirement_review', 'delivery', 'acceptance']);
  });

  it('walks requirement → review → delivery → acceptance → completed, rejections going one stage back', () => {
    let f = facts();
    const step = (action: Parameters<typeof applyAction>[1], at: number) => { f = applyAction(f, action, at); return f.stage; };
    expect(step('submitRequirement', T0 + 1)).toBe('requirement_review');
    expect(step('rejectRequirement', T0 + 2)).toBe('requirement');
    expect(f.rejections).toEqual({ buyer: 0, seller: 1 });
    expect(step('submitRequirement', T0 + 3)).toBe('requirement_review');
    expect(step('confirmRequirement', T0 + 4)).toBe('delivery');
    expect(step('deliver', T0 + 5)).toBe('acceptance');
    expect(f.stageEnteredAt).toBe(T0 + 5);
    expect(step('rejectDelivery', T0 + 6)).toBe('delivery');
    expect(f.rejections).toEqual({ buyer: 1, seller: 1 });
    expect(step('deliver', T0 + 7)).toBe('acceptance');
    expect(step('accept', T0 + 8)).toBe('completed');
  });

  it('lets only the stage party act, and only in its stage', () => {
    expect(refuseAction(facts(), 'buyer', 'submitRequirement')).toBeNull();
    expect(refuseAction(facts(), 'seller', 'submitRequirement')).toMatchObject({ code: 'forbidden' });
    expect(refuseAction(facts(), 'buyer', 'accept')).toMatchObject({ code: 'conflict', reason: expect.stringContaining('not possible in stage requirement') });
    expect(refuseAction(facts({ stage: 'delivery' }), 'seller', 'deliver')).toBeNull();
    expect(refuseAction(facts({ stage: 'delivery' }), 'buyer', 'deliver')).toMatchObject({ code: 'forbidden' });
    expect(refuseAction(facts({ stage: 'completed' }), 'buyer', 'requestRefund')).toMatchObject({ code: 'conflict', reason: 'the supervision is completed' });
  });

  it('a logistics sign-off exists only for hardware, by the seller or an operator', () => {
    expect(refuseAction(facts({ stage: 'acceptance' }), 'seller', 'signOff')).toMatchObject({ code: 'conflict' });
    expect(refuseAction(facts({ kind: 'hardware', stage: 'acceptance' }), 'operator', 'signOff')).toBeNull();
    expect(refuseAction(facts({ kind: 'hardware', stage: 'acceptance' }), 'buyer', 'signOff')).toMatchObject({ code: 'forbidden' });
  });

  it('refuses every party action during an appeal with the reason', () => {
    const f = openAppeal(facts({ stage: 'delivery' }), { by: 'buyer', onBehalf: false, ground: 'buyer_any_stage', openedAt: T0, reason: 'no answer' });
    for (const [actor, action] of [['seller', 'deliver'], ['buyer', 'requestRefund'], ['seller', 'approveRefund']] as const) {
      expect(refuseAction(f, actor, action)).toEqual({ code: 'conflict', reason: expect.stringContaining('an appeal is open since 2026-03-02T02:00:00.000Z (by the buyer') });
    }
    expect(appealGround(f, 'seller', T0 + 10 * DAY_MS, DEFAULT_RULES)).toMatchObject({ code: 'conflict', reason: expect.stringContaining('an appeal is open') });
  });
});

describe('appeal eligibility', () => {
  it('idle for exactly the limit is not enough (counted in whole seconds); a second more is', () => {
    const f = facts({ stage: 'requirement' });
    expect(appealGround(f, 'seller', T0 + 5 * DAY_MS, sellerRules)).toMatchObject({ code: 'conflict', reason: expect.stringContaining('idle in requirement for 5 d (an appeal needs more than 5 d)') });
    expect(appealGround(f, 'seller', T0 + 5 * DAY_MS + 999, sellerRules)).toMatchObject({ code: 'conflict' });
    expect(appealGround(f, 'seller', T0 + 5 * DAY_MS + 1000, sellerRules)).toEqual({ ground: 'counterpart_idle' });
  });

  it('a party cannot appeal against its own idleness', () => {
    const f = facts({ stage: 'delivery' });
    expect(appealGround(f, 'seller', T0 + 30 * DAY_MS, sellerRules)).toMatchObject({ code: 'conflict', reason: expect.stringContaining('it is your turn in delivery') });
    expect(appealGround(f, 'buyer', T0 + 5 * DAY_MS + 1000, sellerRules)).toEqual({ ground: 'counterpart_idle' });
  });

  it('the fourth rejection makes an appeal possible, the third does not', () => {
    let f = facts({ stage: 'delivery' });
    for (let i = 0; i < 3; i++) f = applyAction(applyAction(f, 'deliver', T0), 'rejectDelivery', T0);
    expect(f.rejections.buyer).toBe(3);
    expect(appealGround(f, 'seller', T0, sellerRules)).toMatchObject({ code: 'conflict', reason: expect.stringContaining('rejected 3 time(s)') });
    f = applyAction(applyAction(f, 'deliver', T0), 'rejectDelivery', T0);
    expect(appealGround(f, 'seller', T0, sellerRules)).toEqual({ ground: 'counterpart_rejections' });
  });

  it('the buyer may appeal at any stage; with that rule off it needs a ground like the seller', () => {
    expect(appealGround(facts({ stage: 'requirement' }), 'buyer', T0, DEFAULT_RULES)).toEqual({ ground: 'buyer_any_stage' });
    expect(appealGround(facts({ stage: 'requirement' }), 'buyer', T0, sellerRules)).toMatchObject({ code: 'conflict' });
  });

  it('a refund request unanswered for more than 10 days is a ground for the buyer', () => {
    const f = applyAction(facts({ stage: 'acceptance', kind: 'hardware' }), 'requestRefund', T0);
    expect(appealGround(f, 'buyer', T0 + 10 * DAY_MS, sellerRules)).toMatchObject({ code: 'conflict' });
    expect(appealGround(f, 'buyer', T0 + 10 * DAY_MS + 1000, sellerRules)).toEqual({ ground: 'refund_unanswered' });
  });

  it('refund requests: one at a time, answered by the seller; a rejection counts as the seller\'s', () => {
    let f = applyAction(facts({ stage: 'delivery' }), 'requestRefund', T0);
    expect(refuseAction(f, 'buyer', 'requestRefund')).toMatchObject({ code: 'conflict' });
    expect(refuseAction(facts(), 'seller', 'approveRefund')).toMatchObject({ reason: 'there is no refund request to answer' });
    f = applyAction(f, 'rejectRefund', T0 + 1);
    expect(f).toMatchObject({ stage: 'delivery', refundRequestedAt: null, rejections: { seller: 1, buyer: 0 } });
    f = applyAction(applyAction(f, 'requestRefund', T0 + 2), 'approveRefund', T0 + 3);
    expect(f.stage).toBe('refunded');
  });
});

describe('operator decisions', () => {
  const appealed = openAppeal(facts({ stage: 'acceptance', rejections: { buyer: 5, seller: 1 } }), { by: 'seller', onBehalf: true, ground: 'acceptance_timeout', openedAt: T0, reason: 'timeout' });
  it('complete, refund, or send back to a stage the line has, which starts afresh', () => {
    expect(decideAppeal(appealed, { decision: 'complete' }, T0 + 1)).toMatchObject({ stage: 'completed', appeal: null });
    expect(decideAppeal(appealed, { decision: 'refund' }, T0 + 1)).toMatchObject({ stage: 'refunded', appeal: null });
    expect(decideAppeal(appealed, { decision: 'send_back', stage: 'delivery' }, T0 + 1)).toMatchObject({
      stage: 'delivery', stageEnteredAt: T0 + 1, appeal: null, rejections: { buyer: 0, seller: 0 },
    });
    expect(refuseDecision(appealed, { decision: 'send_back', stage: 'requirement' })).toBeNull();
    expect(refuseDecision({ ...appealed, kind: 'license' }, { decision: 'send_back', stage: 'requirement' })).toMatchObject({ code: 'conflict' });
    expect(refuseDecision(facts(), { decision: 'complete' })).toMatchObject({ reason: 'no appeal is open' });
  });
});

describe('timers', () => {
  it('the acceptance timeout is 5 days after delivery, none for hardware or during an appeal', () => {
    const f = applyAction(facts({ stage: 'delivery' }), 'deliver', T0);
    expect(acceptanceTimeoutAt(f, DEFAULT_RULES)).toBe(T0 + 5 * DAY_MS);
    expect(nextTimer(f, DEFAULT_RULES)).toEqual({ at: T0 + 5 * DAY_MS, does: 'open_appeal' });
    expect(acceptanceTimeoutAt({ ...f, kind: 'hardware' }, DEFAULT_RULES)).toBeNull();
    expect(nextTimer(openAppeal(f, { by: 'seller', onBehalf: true, ground: 'acceptance_timeout', openedAt: T0, reason: '' }), DEFAULT_RULES)).toBeNull();
    expect(nextTimer(facts({ stage: 'delivery' }), DEFAULT_RULES)).toBeNull();
  });

  it('hardware is accepted 10 days after the sign-off, or after acceptance began when that was later', () => {
    const delivered = applyAction(facts({ kind: 'hardware', stage: 'delivery' }), 'deliver', T0);
    expect(hardwareAutoAcceptAt(delivered, DEFAULT_RULES)).toBeNull();
    const signed = applyAction(delivered, 'signOff', T0 + DAY_MS, T0 + DAY_MS);
    expect(nextTimer(signed, DEFAULT_RULES)).toEqual({ at: T0 + 11 * DAY_MS, does: 'auto_accept' });
    const early = applyAction(applyAction(facts({ kind: 'hardware', stage: 'delivery' }), 'signOff', T0, T0 - DAY_MS), 'deliver', T0 + 2 * DAY_MS);
    expect(hardwareAutoAcceptAt(early, DEFAULT_RULES)).toBe(T0 + 12 * DAY_MS);
  });
});

describe('delivery proof and validity', () => {
  it('names the proof kinds the template asks for and the delivery lacks', () => {
    expect(missingProof(['statement_of_work', 'acceptance_document'], ['acceptance_document', 'screenshot'])).toEqual(['statement_of_work']);
    expect(missingProof([], [])).toEqual([]);
  });
  it('validity starts at the actual start time when given, else at acceptance', () => {
    expect(validityStart(T0, null)).toBe(T0);
    expect(validityStart(T0, T0 - DAY_MS)).toBe(T0 - DAY_MS);
  });
});
