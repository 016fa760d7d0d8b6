/**
 * The chaos test's end checks: every record against its workflow and the money. Each finding is a
 * request lost (accepted, then nothing or not finished), duplicated (two of what must be one), stuck
 * (a process that does not move) or wrong (a record that disagrees with its workflow).
 */
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Db } from '../../db/client';
import { balanceOf, saleKeys, trialBalance } from '../../db/ledger';
import { instances, ledgerTransactions, merchantApplications, merchants, orderLines, orders, reviewEvents, skus, stuckProcesses, subscriptions } from '../../db/schema';
import { signRequest } from '../../domain/saas-signing';
import { queryInstanceReply } from '../../seller-client';
import { merchantReviewWorkflowId } from '../../workflows/merchant-review-messages';
import { saasProvisionWorkflowId } from '../../workflows/saas-provision-messages';
import { subscriptionWorkflowId } from '../../workflows/subscription-messages';
import type { Load } from './load';

export type FindingKind = 'lost' | 'duplicated' | 'stuck' | 'wrong';
export interface Finding { kind: FindingKind; what: string }

export interface VerifyInput {
  db: Db; temporal: Client; load: Load; buyerId: string; applicantId: string; topUpCents: number;
  seller: { url: string; accessKey: string };
}

export interface Figures {
  ordersAccepted: number; ordersUncertainButPlaced: number; linesDelivered: number; linesRefunded: number; subscriptionsChecked: number;
  applicationsAccepted: number; applicationsUncertainButOpened: number; decisionsRecorded: number; openWorkflowsChecked: number;
}

/** Runs of every workflow of a type, by workflow id (visibility; the runs a process continued as new count as one chain). */
async function runsByType(temporal: Client, type: string): Promise<Map<string, WorkflowExecutionInfo[]>> {
  const out = new Map<string, WorkflowExecutionInfo[]>();
  for await (const wf of temporal.workflow.list({ query: `WorkflowType = '${type}'` })) {
    out.set(wf.workflowId, [...(out.get(wf.workflowId) ?? []), wf]);
  }
  return out;
}

async function inBatches<T>(xs: T[], n: number, fn: (x: T) => Promise<void>) {
  for (let i = 0; i < xs.length; i += n) await Promise.all(xs.slice(i, i + n).map(fn));
}

export async function verify(v: VerifyInput): Promise<{ findings: Finding[]; figures: Figures }> {
  const findings: Finding[] = [];
  const add = (kind: FindingKind, what: string) => findings.push({ kind, what });
  const { db, temporal, load } = v;

  // ---- Orders: one order per key, one charge per order, each line delivered or refunded exactly once.
  const placed = await db.select().from(orders).where(eq(orders.buyerPrincipalId, v.buyerId));
  const byKey = new Map(placed.map((o) => [o.idempotencyKey, o]));
  const known = new Set(load.orders.map((o) => o.key));
  for (const o of placed) if (!o.idempotencyKey || !known.has(o.idempotencyKey)) add('duplicated', `order ${o.id} matches no request (key ${o.idempotencyKey})`);
  let uncertainPlaced = 0;
  for (const r of load.orders) {
    const row = byKey.get(r.key);
    if (r.outcome === 'accepted' && (!row || row.id !== r.id)) add('lost', `order ${r.key}: answered ${r.status} with ${r.id}, but the database holds ${row?.id ?? 'nothing'}`);
    if (r.outcome !== 'accepted' && row) uncertainPlaced++;
  }
  const orderIds = placed.map((o) => o.id);
  const lines = orderIds.length ? await db.select().from(orderLines).where(inArray(orderLines.orderId, orderIds)) : [];
  // The ledger: one charge per line, a settlement for a delivered line, a refund for a failed or cancelled one.
  const money = await db.select({ key: ledgerTransactions.key, kind: ledgerTransactions.kind, gross: ledgerTransactions.grossCents })
    .from(ledgerTransactions).where(eq(ledgerTransactions.buyerId, v.buyerId));
  const tx = new Map(money.map((m) => [m.key, m]));
  for (const o of placed) if (!lines.some((l) => l.orderId === o.id)) add('lost', `order ${o.id} has no lines`);
  const provisions = await runsByType(temporal, 'saasProvision');
  const instanceRows = lines.length ? await db.select({ line: instances.orderLineId, n: sql<number>`count(*)::int` }).from(instances)
    .where(inArray(instances.orderLineId, lines.map((l) => l.id))).groupBy(instances.orderLineId) : [];
  const instanceCount = new Map(instanceRows.map((r) => [r.line, r.n]));
  let delivered = 0;
  let refunded = 0;
  const toAskSeller: { line: string; instanceId: string }[] = [];
  await inBatches(lines, 16, async (l) => {
    const runs = (provisions.get(saasProvisionWorkflowId(l.id)) ?? []).filter((r) => r.status.name !== 'CONTINUED_AS_NEW');
    if (runs.length === 0) { add('lost', `order line ${l.id} (${l.status}) has no provisioning workflow`); return; }
    if (runs.length > 1) add('duplicated', `order line ${l.id} has ${runs.length} provisioning workflows`);
    const keys = saleKeys(l.id);
    const charge = tx.get(keys.charge);
    // A free line (a trial's) has no charge: a ledger transaction moves money or is not written.
    if (!charge) { if (l.priceCents > 0) add('lost', `order line ${l.id} was never charged`); }
    else if (charge.gross !== l.priceCents) add('wrong', `order line ${l.id} charged ${charge.gross}, priced ${l.priceCents}`);
    const refunds = tx.has(keys.refund) ? 1 : 0;
    if (l.status === 'processing') { add('stuck', `order line ${l.id} is still processing (${l.provisioning}); workflow ${runs[0]!.status.name}`); return; }
    const result = await temporal.workflow.getHandle(saasProvisionWorkflowId(l.id)).result().catch((e: Error) => ({ status: `failed: ${e.message}` }));
    if ((result as { status: string }).status !== l.status) add('wrong', `order line ${l.id} is ${l.status}, its workflow ended ${(result as { status: string }).status}`);
    if (l.status === 'delivered') {
      delivered++;
      if ((instanceCount.get(l.id) ?? 0) !== 1) add((instanceCount.get(l.id) ?? 0) > 1 ? 'duplicated' : 'lost', `delivered line ${l.id} has ${instanceCount.get(l.id) ?? 0} instance rows`);
      if (refunds) add('duplicated', `delivered line ${l.id} was also refunded`);
      if (!tx.has(keys.settle) && l.priceCents > 0) add('lost', `delivered line ${l.id} was never settled with its seller`);
      if (l.instanceConflict) add('duplicated', `line ${l.id}: the seller answered a second instance id`);
      if (l.instanceId) toAskSeller.push({ line: l.id, instanceId: l.instanceId });
    } else {
      refunded++;
      if (refunds !== 1 && l.priceCents > 0) add('lost', `${l.status} line ${l.id} was not refunded`);
    }
  });
  // The seller holds every instance the marketplace delivered (a signed queryInstance of each).
  await inBatches(toAskSeller, 8, async ({ line, instanceId }) => {
    const { payload, query } = signRequest(v.seller.accessKey, { activity: 'queryInstance', instanceId }, Date.now());
    const url = new URL(v.seller.url);
    for (const [k, q] of Object.entries(query)) url.searchParams.set(k, q);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json;charset=utf-8' }, body: payload, signal: AbortSignal.timeout(10_000) })
      .then(async (r) => queryInstanceReply.safeParse(await r.json()), (e: Error) => ({ success: false as const, error: e }));
    if (!res.success || res.data.resultCode !== '000000' || !res.data.info?.some((i) => i.instanceId === instanceId)) {
      add('lost', `line ${line}: the seller does not know instance ${instanceId} (${res.success ? res.data.resultCode : res.error.message})`);
    }
  });
  const lineIds = new Set(lines.map((l) => saasProvisionWorkflowId(l.id)));
  for (const id of provisions.keys()) if (!lineIds.has(id)) add('duplicated', `workflow ${id} belongs to no order line of this run`);

  // ---- Subscriptions: a delivered monthly/yearly line has one subscription row and one subscription process
  // (its runs continue as new: a chain counts once), started and not failed; no other subscription process exists.
  const periodic = new Set((lines.length ? await db.select({ id: skus.id }).from(skus)
    .where(and(inArray(skus.id, [...new Set(lines.map((l) => l.skuId))]), inArray(skus.chargingMode, ['monthly', 'yearly']))) : []).map((k) => k.id));
  const subRows = lines.length ? await db.select().from(subscriptions).where(inArray(subscriptions.orderLineId, lines.map((l) => l.id))) : [];
  const subscriptionRuns = await runsByType(temporal, 'subscription');
  const expectedSubs = new Set<string>();
  let subscriptionsChecked = 0;
  for (const l of lines) {
    const rows = subRows.filter((r) => r.orderLineId === l.id);
    const wants = l.status === 'delivered' && periodic.has(l.skuId);
    if (!wants) { if (rows.length) add('wrong', `${l.status} line ${l.id} has a subscription`); continue; }
    if (rows.length !== 1 || rows[0]!.id !== l.instanceId) { add(rows.length > 1 ? 'duplicated' : 'lost', `delivered periodic line ${l.id} has ${rows.length} subscription rows (instance ${l.instanceId})`); continue; }
    const row = rows[0]!;
    expectedSubs.add(subscriptionWorkflowId(row.id));
    const runs = (subscriptionRuns.get(subscriptionWorkflowId(row.id)) ?? []).filter((r) => r.status.name !== 'CONTINUED_AS_NEW');
    if (runs.length !== 1) { add(runs.length ? 'duplicated' : 'lost', `subscription ${row.id} (line ${l.id}) has ${runs.length} subscription processes`); continue; }
    if (runs[0]!.status.name !== 'RUNNING' && runs[0]!.status.name !== 'COMPLETED') add('lost', `subscription ${row.id} (line ${l.id}): its process ${runs[0]!.status.name}`);
    if (!row.workflowStartedAt) add('stuck', `subscription ${row.id}: its process's start was never recorded`);
    subscriptionsChecked++;
  }
  for (const id of subscriptionRuns.keys()) if (!expectedSubs.has(id)) add('duplicated', `workflow ${id} belongs to no delivered periodic line of this run`);

  // ---- Money: the whole ledger balances (sums to zero), and the buyer's balance is its top-up less what it paid for.
  const tb = await trialBalance(db);
  if (tb.totalCents !== 0) add('wrong', `the ledger sums to ${tb.totalCents}, not 0`);
  for (const id of tb.unbalancedTransactions) add('wrong', `ledger transaction ${id} does not balance`);
  for (const m of tb.balanceMismatches) add('wrong', `account ${m.accountId} keeps ${m.keptCents}, its entries say ${m.entriesCents}`);
  const paid = money.reduce((sum, m) => sum + (m.kind === 'charge' ? m.gross : m.kind === 'refund' ? -m.gross : 0), 0);
  const balance = await balanceOf(db, v.buyerId);
  if (balance !== v.topUpCents - paid) add('wrong', `buyer balance ${balance} != top-up ${v.topUpCents} - charges net of refunds ${paid}`);

  // ---- Applications: one case and one review process per accepted request, each decision recorded once.
  const cases = await db.select().from(merchantApplications).where(eq(merchantApplications.applicantPrincipalId, v.applicantId));
  const caseById = new Map(cases.map((c) => [c.id, c]));
  const reviews = await runsByType(temporal, 'merchantReview');
  const events = cases.length ? await db.select({ app: reviewEvents.applicationId, type: reviewEvents.type, round: reviewEvents.round, n: sql<number>`count(*)::int` })
    .from(reviewEvents).where(inArray(reviewEvents.applicationId, cases.map((c) => c.id))).groupBy(reviewEvents.applicationId, reviewEvents.type, reviewEvents.round) : [];
  const eventCount = (app: string, type: string) => events.filter((e) => e.app === app && e.type === type).reduce((s, e) => s + e.n, 0);
  const merchantRows = cases.length ? await db.select({ app: merchants.onboardingApplicationId, n: sql<number>`count(*)::int` }).from(merchants)
    .where(inArray(merchants.onboardingApplicationId, cases.map((c) => c.id))).groupBy(merchants.onboardingApplicationId) : [];
  const knownApps = new Set(load.apps.map((a) => a.id));
  for (const c of cases) if (!knownApps.has(c.id)) add('duplicated', `application ${c.id} matches no request`);
  let uncertainOpened = 0;
  let decisions = 0;
  let openChecked = 0;
  await inBatches(load.apps, 16, async (a) => {
    const row = caseById.get(a.id);
    if (!row) { if (a.outcome === 'accepted') add('lost', `application ${a.key} answered ${a.status} (${a.id}) but has no case`); return; }
    if (a.outcome !== 'accepted') uncertainOpened++;
    const runs = (reviews.get(merchantReviewWorkflowId(a.id)) ?? []).filter((r) => r.status.name !== 'CONTINUED_AS_NEW');
    if (runs.length !== 1) { add(runs.length ? 'duplicated' : 'lost', `application ${a.id} has ${runs.length} review workflows`); return; }
    if (!row.workflowStartedAt) add('stuck', `application ${a.id}: its workflow's start was never recorded`);
    if (eventCount(a.id, 'round_opened') !== 1) add(eventCount(a.id, 'round_opened') ? 'duplicated' : 'lost', `application ${a.id}: ${eventCount(a.id, 'round_opened')} round_opened events`);
    const handle = temporal.workflow.getHandle(merchantReviewWorkflowId(a.id));
    const readState = async () => {
      const { status } = await handle.describe();
      return status.name === 'COMPLETED' ? ((await handle.result()) as { status: string }).status
        : status.name === 'RUNNING' ? (await handle.query<{ status: string }>('state')).status : `workflow ${status.name}`;
    };
    const d = a.decision;
    const decided = d && (d.outcome === 'accepted' || d.outcome === 'accepted-earlier' || (d.outcome === 'uncertain' && row.status !== 'pending'));
    // The decision's row is written by an activity; the workflow takes its result on its next task, which after a
    // killed worker or server can come some seconds later. Only a state that stays behind is a finding.
    let state = await readState();
    for (const until = Date.now() + 60_000; decided && row.status !== 'pending' && state !== row.status && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 1000));
      state = await readState();
    }
    if (decided) {
      decisions++;
      const want = d.verb === 'approve' ? 'approved' : 'rejected';
      if (row.status !== want) add('lost', `application ${a.id}: decision ${d.verb} (${d.status}) but the case is ${row.status}`);
      if (state !== want) add('wrong', `application ${a.id}: the case is ${row.status}, its workflow says ${state}`);
      const n = eventCount(a.id, want);
      if (n !== 1) add(n ? 'duplicated' : 'lost', `application ${a.id}: ${n} '${want}' events`);
      const m = merchantRows.find((r) => r.app === a.id)?.n ?? 0;
      if (want === 'approved' && m !== 1) add(m > 1 ? 'duplicated' : 'lost', `approved application ${a.id} made ${m} merchants`);
      if (want === 'rejected' && m) add('wrong', `rejected application ${a.id} made a merchant`);
    } else {
      if (d && d.outcome !== 'uncertain' && d.outcome !== 'unsent') add('wrong', `application ${a.id}: decision ${d.verb} answered ${d.status}`);
      if (row.status !== 'pending' || state !== 'pending') add('wrong', `undecided application ${a.id} is ${row.status}, its workflow says ${state}`);
      openChecked++;
    }
  });
  for (const id of reviews.keys()) if (!cases.some((c) => merchantReviewWorkflowId(c.id) === id)) add('duplicated', `workflow ${id} belongs to no case of this run`);

  // ---- Nothing stuck: no process waits for operators, no open workflow retries an activity or a workflow task.
  for (const p of await db.select().from(stuckProcesses).where(isNull(stuckProcesses.resolvedAt))) {
    add('stuck', `${p.workflowId} is stuck at ${p.step}: ${p.failureType} ${p.message}`);
  }
  for await (const wf of temporal.workflow.list({ query: `Stuck = true` })) add('stuck', `${wf.workflowId} has Stuck = true`);
  const open: string[] = [];
  for await (const wf of temporal.workflow.list({ query: `ExecutionStatus = 'Running'` })) open.push(wf.workflowId);
  await inBatches(open, 16, async (id) => {
    const d = await temporal.workflow.getHandle(id).describe();
    const raw = d.raw;
    for (const act of raw.pendingActivities ?? []) {
      if ((act.attempt ?? 0) > 2) add('stuck', `${id}: activity ${act.activityType?.name} at attempt ${act.attempt} (${act.lastFailure?.message ?? ''})`);
    }
    if ((raw.pendingWorkflowTask?.attempt ?? 0) > 2) add('stuck', `${id}: workflow task at attempt ${raw.pendingWorkflowTask?.attempt}`);
  });

  return {
    findings,
    figures: {
      ordersAccepted: load.orders.filter((o) => o.outcome === 'accepted').length, ordersUncertainButPlaced: uncertainPlaced,
      linesDelivered: delivered, linesRefunded: refunded, subscriptionsChecked,
      applicationsAccepted: load.apps.filter((a) => a.outcome === 'accepted').length, applicationsUncertainButOpened: uncertainOpened,
      decisionsRecorded: decisions, openWorkflowsChecked: openChecked,
    },
  };
}

/**
 * True when every accepted order line has ended, every delivered subscription and every accepted case has its workflow recorded, and every
 * decision the clients were answered for is written (an accepted decision may still be retrying its write
 * after a database outage: the 202 answer says so).
 */
export async function settled(db: Db, buyerId: string, applicantId: string, decided: string[] = []): Promise<{ done: boolean; waiting: number }> {
  const [l] = await db.select({ n: sql<number>`count(*)::int` }).from(orderLines).innerJoin(orders, eq(orders.id, orderLines.orderId))
    .where(and(eq(orders.buyerPrincipalId, buyerId), eq(orderLines.status, 'processing')));
  const [c] = await db.select({ n: sql<number>`count(*)::int` }).from(merchantApplications)
    .where(and(eq(merchantApplications.applicantPrincipalId, applicantId), sql`${merchantApplications.workflowStartedAt} is null`));
  const [d] = decided.length ? await db.select({ n: sql<number>`count(*)::int` }).from(merchantApplications)
    .where(and(inArray(merchantApplications.id, decided), eq(merchantApplications.status, 'pending'))) : [{ n: 0 }];
  // A delivered monthly/yearly line's subscription starts after the delivery (or by the sweep when that start failed).
  const [sub] = await db.select({ n: sql<number>`count(*)::int` }).from(subscriptions)
    .where(and(eq(subscriptions.buyerPrincipalId, buyerId), sql`${subscriptions.workflowStartedAt} is null`));
  const waiting = (l?.n ?? 0) + (c?.n ?? 0) + (d?.n ?? 0) + (sub?.n ?? 0);
  return { done: waiting === 0, waiting };
}
