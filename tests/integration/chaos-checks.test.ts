import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { issueApiKey } from '../../api/auth';
import { topUp } from '../../db/ledger';
import { orderLines, orders, reviewEvents } from '../../db/schema';
import { ChaosClient } from '../../scripts/chaos/client';
import { Load } from '../../scripts/chaos/load';
import { settled, verify, type VerifyInput } from '../../scripts/chaos/verify';
import { startReferenceSeller, type ReferenceSeller } from '../../seller/server';
import { seedSaasProduct } from '../support/catalog';
import { startSystem, type System } from '../support/system';
import { subscriptionWorkflowId } from '../../workflows/subscription-messages';

/**
 * The chaos test passes when its checks find nothing; these show that they do find what they look
 * for. A small load runs through the real system, the checks pass, then the records are damaged in
 * each way a fault could damage them and the checks must name each.
 */
const ACCESS_KEY = 'chaos-checks-access-key-0001';
const TOP_UP = 1_000_000;
let sys: System;
let seller: ReferenceSeller;

beforeAll(async () => {
  sys = await startSystem();
  seller = await startReferenceSeller({ accessKey: ACCESS_KEY, port: 0, mode: 'sync' });
});
afterAll(async () => {
  await seller?.close();
  await sys?.close();
});

describe('the chaos checks', () => {
  it('find nothing in a clean run, and name a lost order, a stuck line, a stranger order, a decision recorded twice and money from nowhere', async () => {
    const seed = await seedSaasProduct(sys.db, { productionUrl: seller.url, accessKey: ACCESS_KEY, balanceCents: TOP_UP });
    const operator = await sys.party('operator');
    const applicant = await sys.party('buyer');
    const load = new Load(new ChaosClient([sys.baseUrl], 20_000), {
      operator: operator.key, skuId: seed.skuId, buyer: { id: seed.buyer, key: await issueApiKey(sys.db, seed.buyer) }, applicant,
    }, 'CHECKS01');
    for (let i = 0; i < 3; i++) await load.order();
    await load.apply();
    await load.apply();
    await expect.poll(async () => (await settled(sys.db, seed.buyer, applicant.id)).done, { timeout: 30_000 }).toBe(true);
    const decision = await load.decide();
    expect(decision?.outcome).toBe('accepted');

    const input: VerifyInput = {
      db: sys.db, temporal: sys.env.client, load, buyerId: seed.buyer, applicantId: applicant.id, topUpCents: TOP_UP,
      seller: { url: seller.url, accessKey: ACCESS_KEY },
    };
    const clean = await verify(input);
    expect(clean.findings).toEqual([]);
    // Each delivered line of the monthly SKU also started its subscription.
    expect(clean.figures).toMatchObject({ ordersAccepted: 3, linesDelivered: 3, subscriptionsChecked: 3, applicationsAccepted: 2, decisionsRecorded: 1, openWorkflowsChecked: 1 });

    // An order the client was told was accepted, that the database does not hold.
    load.orders.push({ key: 'chaos-CHECKS01-ghost', id: 'CS2611300000GHOST', lines: [], outcome: 'accepted', status: 201, probe: false });
    // A paid line that never finished.
    const line = load.orders[0]!.lines[0]!;
    await sys.db.update(orderLines).set({ status: 'processing' }).where(eq(orderLines.id, line));
    // An order nobody asked for.
    await sys.db.insert(orders).values({ id: 'CS2611300000STRAN', buyerPrincipalId: seed.buyer, idempotencyKey: 'stranger', status: 'processing', totalCents: 0 });
    // The decision recorded a second time.
    const decided = load.apps.find((a) => a.decision)!;
    const verb = decided.decision!.verb === 'approve' ? 'approved' : 'rejected';
    await sys.db.insert(reviewEvents).values({ applicationId: decided.id, eventKey: 'r1:again', type: verb, round: 1, at: new Date() });
    // Money the buyer did not pay for.
    await topUp(sys.db, { key: `top-up:${seed.buyer}:stray`, buyerId: seed.buyer, amountCents: 1 });

    // A delivered line's subscription process ended, and a subscription process of no line of this run.
    const [second] = await sys.db.select().from(orderLines).where(eq(orderLines.id, load.orders[1]!.lines[0]!));
    const ended = sys.env.client.workflow.getHandle(subscriptionWorkflowId(second!.instanceId!));
    await ended.terminate('chaos checks: a lost subscription');
    const stray = await sys.env.client.workflow.start('subscription', { workflowId: subscriptionWorkflowId('STRAYINSTANCE01'), taskQueue: 'nobody-polls-this', args: [{ instanceId: 'STRAYINSTANCE01' }] });

    const damaged = await verify(input);
    await stray.terminate('chaos checks: done');
    const named = (kind: string, text: string) => damaged.findings.some((f) => f.kind === kind && f.what.includes(text));
    expect(named('lost', 'chaos-CHECKS01-ghost'), 'the lost order').toBe(true);
    expect(named('stuck', line), 'the unfinished line').toBe(true);
    expect(named('duplicated', 'CS2611300000STRAN'), 'the stranger order').toBe(true);
    expect(named('duplicated', `${decided.id}: 2 '${verb}' events`), 'the decision recorded twice').toBe(true);
    expect(named('wrong', 'buyer balance'), 'the money from nowhere').toBe(true);
    expect(named('lost', `subscription ${second!.instanceId}`), 'the ended subscription').toBe(true);
    expect(named('duplicated', 'subscription:STRAYINSTANCE01'), 'the stray subscription').toBe(true);
  });
});
