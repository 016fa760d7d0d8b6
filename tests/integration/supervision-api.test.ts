import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileResult } from '../../activities/reconcile';
import { ensureReconcileSchedule } from '../../api/schedules';
import { topUp } from '../../db/ledger';
import { merchants, products, supervisionLog } from '../../db/schema';
import { SUPERVISION_HISTORY_BOUND, SUPERVISION_HISTORY_ROLL } from '../../workflows/supervision';
import { expectHistoryWithin } from '../support/history';
import { recordHistory } from '../support/replay';
import { actUpdate, supervisionStateQuery, supervisionWorkflowId } from '../../workflows/supervision-messages';
import { RECONCILE_SCHEDULE_ID } from '../../workflows/reconcile';
import { saasProvisionWorkflowId } from '../../workflows/saas-provision-messages';
import { startSystem, type System } from '../support/system';

let s: System;
let dir: string;
type Party = { id: string; key: string };
let op: Party;
let seller: Party;
let otherSeller: Party;
let buyer: Party;
let otherBuyer: Party;
let skuId: string;
let licenceSku: string;

// Real file contents whose types the server recognises from their first bytes.
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n'), Buffer.alloc(5000, 0x20), Buffer.from('\n%%EOF\n')]);
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(3000, 1)]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'supervision-files-'));
  s = await startSystem({ config: { ARTIFACT_DIR: dir, SUPERVISION_FILE_MAX_BYTES: String(64 * 1024) } });
  op = await s.party('operator');
  buyer = await s.party('buyer');
  otherBuyer = await s.party('buyer');
  // Two sellers with their own merchants, written as onboarding would.

  for (const m of ['MSUPA', 'MSUPB']) {
    const owner = await s.party('buyer');
    await s.db.insert(merchants).values({ id: m, ownerPrincipalId: owner.id, status: 'active', onboardingApplicationId: 'MA-x', profile: { companyName: m, customerServiceEmail: `${m}@example.com` } });
  }
  seller = await s.party('seller', { merchantId: 'MSUPA' });
  otherSeller = await s.party('seller', { merchantId: 'MSUPB' });
  await topUp(s.db, { key: 'seed-buyer', buyerId: buyer.id, amountCents: 1_000_000 });
  const product = await s.call('POST', '/v1/products', { key: seller.key, body: { name: 'On-site ERP rollout', deliveryType: 'manual_service', skus: [{ name: 'Yearly', chargingMode: 'yearly', priceCents: 120_000 }] } });
  expect(product.status).toBe(201);
  expect(product.json).toMatchObject({ supervised: true, deliveryTemplate: ['statement_of_work', 'acceptance_document'] });
  skuId = product.json.skus[0].id;
  expect((await s.call('POST', `/v1/products/${product.json.id}/on-sale`, { key: op.key, body: {} })).status).toBe(200);
  const licence = await s.call('POST', '/v1/products', { key: seller.key, body: { name: 'CAD licence', deliveryType: 'license', deliveryTemplate: ['screenshot'], skus: [{ name: 'Perpetual', chargingMode: 'one_time', priceCents: 10_000 }] } });
  licenceSku = licence.json.skus[0].id;
  await s.call('POST', `/v1/products/${licence.json.id}/on-sale`, { key: op.key, body: {} });
});
afterAll(async () => {
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

async function order(sku = skuId) {
  const r = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId: sku }] } });
  expect(r.status).toBe(201);
  const line = r.json.lines[0].id as string;
  for (let i = 0; i < 100; i++) {
    if ((await s.call('GET', `/v1/supervisions/${line}`, { key: buyer.key })).json?.started) return line;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('supervision did not start');
}
/** A real multipart/form-data upload; each part's field name is its proof kind. */
async function upload(line: string, who: Party, files: { kind: string; name: string; type: string; data: Buffer }[], headers: Record<string, string> = {}) {
  const form = new FormData();
  for (const f of files) form.append(f.kind, new Blob([new Uint8Array(f.data)], { type: f.type }), f.name);
  const res = await fetch(`${s.baseUrl}/v1/supervisions/${line}/files`, { method: 'POST', headers: { authorization: `Bearer ${who.key}`, ...headers }, body: form });
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: await res.json() as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const act = (line: string, who: Party, path: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  s.call('POST', `/v1/supervisions/${line}/${path}`, { key: who.key, body, headers });
/** The database's own refusal message (drizzle wraps it). */
const dbRefusal = (p: PromiseLike<unknown>) => Promise.resolve(p).then(() => 'accepted', (e: { cause?: { message?: string }; message: string }) => e.cause?.message ?? e.message);
const stored = async () => (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && !e.parentPath.includes('.partial')).length;

describe('supervision over HTTP with real multipart uploads', () => {
  it('runs the whole path; another buyer or seller gets 404; every action is in the log once, in order', async () => {
    const line = await order();
    const opened = (await s.call('GET', `/v1/supervisions/${line}`, { key: seller.key })).json;
    expect(opened).toMatchObject({ stage: 'requirement', kind: 'manual_service', appealState: 'none' });
    // The requirement stage counts from payment.
    const paidAt = Date.parse(opened.idleSince);

    const req = await upload(line, buyer, [{ kind: 'other', name: 'requirement.pdf', type: 'application/pdf', data: PDF }]);
    expect(req.status).toBe(201);
    expect(req.json.items[0]).toMatchObject({ kind: 'other', filename: 'requirement.pdf', size: PDF.length, sha256: sha(PDF), uploaderRole: 'buyer' });
    const reqFile = req.json.items[0].id;
    // Sent twice with one Idempotency-Key (a client retrying after a lost answer): one action.
    expect((await act(line, buyer, 'requirement', { comment: 'ERP for 30 users', attachments: [reqFile] }, { 'idempotency-key': 'req-1' })).json.stage).toBe('requirement_review');
    expect((await act(line, buyer, 'requirement', { comment: 'ERP for 30 users', attachments: [reqFile] }, { 'idempotency-key': 'req-1' })).json).toMatchObject({ stage: 'requirement_review', logEntries: 2 });
    expect((await act(line, seller, 'requirement/reject', { comment: 'which modules?' })).json).toMatchObject({ stage: 'requirement', rejections: { seller: 1 } });
    await act(line, buyer, 'requirement', { comment: 'finance and stock', attachments: [reqFile] });
    expect((await act(line, seller, 'requirement/confirm')).json.stage).toBe('delivery');

    const proof = await upload(line, seller, [
      { kind: 'statement_of_work', name: 'sow.pdf', type: 'application/pdf', data: PDF },
      { kind: 'acceptance_document', name: 'acceptance.png', type: 'image/png', data: PNG },
    ]);
    expect(proof.status).toBe(201);
    const [sow, acc] = proof.json.items.map((f: { id: string }) => f.id);
    // Proof missing from the template is refused, and so is a file of the other party.
    const lacking = await act(line, seller, 'delivery', { attachments: [sow] });
    expect(lacking).toMatchObject({ status: 422, type: expect.stringContaining('application/problem+json') });
    expect(lacking.json.detail).toContain('acceptance_document');
    expect((await act(line, seller, 'delivery', { attachments: [sow, acc, reqFile] })).status).toBe(422);
    // The service started a moment after payment, before the delivery was recorded.
    const startedAt = new Date(paidAt + 1).toISOString();
    expect((await act(line, seller, 'delivery', { attachments: [sow, acc], actualStartAt: startedAt, comment: 'live since this morning' })).json).toMatchObject({ stage: 'acceptance', actualStartAt: startedAt });

    // The buyer reads the proof: the bytes, their SHA-256, and the download is logged.
    const dl = await fetch(`${s.baseUrl}/v1/supervisions/${line}/files/${acc}`, { headers: { authorization: `Bearer ${buyer.key}` } });
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-type')).toBe('image/png');
    expect(dl.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(sha(PNG), 'hex').toString('base64')}:`);
    expect(Buffer.from(await dl.arrayBuffer()).equals(PNG)).toBe(true);
    expect((await s.call('GET', `/v1/supervisions/${line}/downloads`, { key: op.key })).json.items).toEqual([expect.objectContaining({ fileId: acc, principalId: buyer.id, role: 'buyer' })]);

    // Strangers see nothing of the line or its files.
    for (const stranger of [otherBuyer, otherSeller]) {
      for (const path of ['', '/log', '/files', `/files/${acc}`, '/downloads']) {
        const r = await s.call('GET', `/v1/supervisions/${line}${path}`, { key: stranger.key });
        expect(r, `${path} for a stranger`).toMatchObject({ status: 404, type: expect.stringContaining('application/problem+json') });
      }
    }
    expect((await act(line, otherBuyer, 'acceptance')).status).toBe(404);
    expect((await upload(line, otherSeller, [{ kind: 'other', name: 'x.pdf', type: 'application/pdf', data: PDF }])).status).toBe(404);
    expect((await act(line, seller, 'acceptance')).status).toBe(403);

    const accepted = await act(line, buyer, 'acceptance', { comment: 'works' }, { 'idempotency-key': 'accept-1' });
    expect(accepted.json).toMatchObject({ stage: 'completed', validFrom: startedAt });
    expect(new Date(accepted.json.validUntil).toISOString().slice(5, 10)).toBe(startedAt.slice(5, 10));
    // Once completed, the flow takes nothing more.
    const again = await act(line, buyer, 'acceptance', { comment: 'works' }, { 'idempotency-key': 'accept-1' });
    expect(again).toMatchObject({ status: 409, json: { detail: expect.stringContaining('the supervision is completed') } });
    const placed = await s.call('GET', `/v1/orders/${line.slice(0, -7)}`, { key: buyer.key });
    expect(placed.json).toMatchObject({ status: 'completed', lines: [expect.objectContaining({ status: 'delivered' })] });

    const log = await s.call('GET', `/v1/supervisions/${line}/log`, { key: seller.key });
    expect(log.json.items.map((e: { seq: number; action: string; actorRole: string }) => [e.seq, e.action, e.actorRole])).toEqual([
      [1, 'open', 'system'], [2, 'submitRequirement', 'buyer'], [3, 'rejectRequirement', 'seller'], [4, 'submitRequirement', 'buyer'],
      [5, 'confirmRequirement', 'seller'], [6, 'deliver', 'seller'], [7, 'accept', 'buyer'],
    ]);
    expect(log.json.items[5]).toMatchObject({ attachments: [sow, acc], comment: 'live since this morning', stage: 'delivery', stageAfter: 'acceptance' });
    // The log is evidence: the database refuses to change it.
    expect(await dbRefusal(s.db.update(supervisionLog).set({ comment: 'edited' }).where(eq(supervisionLog.orderLineId, line)))).toMatch(/append-only/);
    expect(await dbRefusal(s.db.delete(supervisionLog).where(eq(supervisionLog.orderLineId, line)))).toMatch(/append-only/);
  });

  it('refuses bad uploads with problem+json and keeps nothing of them', async () => {
    const line = await order();
    const before = await stored();
    const lying = await upload(line, buyer, [{ kind: 'other', name: 'fake.pdf', type: 'application/pdf', data: Buffer.from('just some text, not a PDF') }]);
    expect(lying).toMatchObject({ status: 415, type: expect.stringContaining('application/problem+json') });
    expect(lying.json.detail).toContain('not application/pdf');
    expect((await upload(line, buyer, [{ kind: 'other', name: 'a.exe', type: 'application/x-msdownload', data: Buffer.from('MZ') }])).status).toBe(415);
    expect((await upload(line, buyer, [{ kind: 'passport', name: 'p.pdf', type: 'application/pdf', data: PDF }])).status).toBe(400);
    // The second file is too large: the first, already stored, is removed again.
    const big = await upload(line, buyer, [
      { kind: 'other', name: 'ok.pdf', type: 'application/pdf', data: PDF },
      { kind: 'other', name: 'big.pdf', type: 'application/pdf', data: Buffer.concat([PDF, Buffer.alloc(70 * 1024, 0x20)]) },
    ]);
    expect(big).toMatchObject({ status: 413, type: expect.stringContaining('application/problem+json') });
    // The edge: multipart/form-data exactly where a route declares it, refused as problem+json before a byte is read.
    const json = await s.call('POST', `/v1/supervisions/${line}/files`, { key: buyer.key, body: { other: 'x' } });
    expect(json).toMatchObject({ status: 415, type: expect.stringContaining('application/problem+json') });
    const none = await fetch(`${s.baseUrl}/v1/supervisions/${line}/files`, { method: 'POST', headers: { authorization: `Bearer ${buyer.key}` } });
    expect([none.status, none.headers.get('content-type')]).toEqual([400, expect.stringContaining('application/problem+json')]);
    const form = new FormData();
    form.append('comment', 'a form where JSON is expected');
    const formOnJson = await fetch(`${s.baseUrl}/v1/supervisions/${line}/requirement`, { method: 'POST', headers: { authorization: `Bearer ${buyer.key}` }, body: form });
    expect([formOnJson.status, formOnJson.headers.get('content-type')]).toEqual([415, expect.stringContaining('application/problem+json')]);
    const declared = (await s.call('GET', '/openapi.json', {})).json.paths['/v1/supervisions/{id}/files'].post.requestBody.content;
    expect(Object.keys(declared)).toEqual(['multipart/form-data']);
    expect(await stored()).toBe(before);
    expect((await s.call('GET', `/v1/supervisions/${line}/files`, { key: op.key })).json.items).toEqual([]);
    // A retried upload with the same Idempotency-Key gives the same file, stored once.
    const one = await upload(line, buyer, [{ kind: 'screenshot', name: 's.png', type: 'image/png', data: PNG }], { 'idempotency-key': 'shot-1' });
    const two = await upload(line, buyer, [{ kind: 'screenshot', name: 's.png', type: 'image/png', data: PNG }], { 'idempotency-key': 'shot-1' });
    expect(two.json.items[0].id).toBe(one.json.items[0].id);
    expect(await stored()).toBe(before + 1);
  });

  it('freezes the flow during an appeal (409 with the reason) until an operator decides', async () => {
    const line = await order(licenceSku);
    expect((await s.call('GET', `/v1/supervisions/${line}`, { key: buyer.key })).json.stage).toBe('delivery');
    const early = await act(line, seller, 'appeal', { reason: 'the buyer is silent' });
    expect(early.status).toBe(409);
    expect(early.json.detail).toContain('no ground for an appeal yet');
    const appealed = (await act(line, buyer, 'appeal', { reason: 'no licence code yet' })).json;
    expect(appealed).toMatchObject({ appealState: 'open', appeal: { by: 'buyer', ground: 'buyer_any_stage', openedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } });
    const shot = await upload(line, seller, [{ kind: 'screenshot', name: 'code.png', type: 'image/png', data: PNG }]);
    const frozen = await act(line, seller, 'delivery', { attachments: [shot.json.items[0].id] });
    expect(frozen).toMatchObject({ status: 409, type: expect.stringContaining('application/problem+json') });
    expect(frozen.json.detail).toContain('an appeal is open since');
    expect((await act(line, seller, 'appeal/decision', { decision: 'refund' })).status).toBe(403);
    expect((await act(line, op, 'appeal/decision', { decision: 'send_back' })).status).toBe(400);
    const back = await act(line, op, 'appeal/decision', { decision: 'send_back', stage: 'delivery', comment: 'the seller delivers within 2 days' });
    expect(back.json).toMatchObject({ stage: 'delivery', appealState: 'decided', appeal: { decision: { decision: 'send_back', stage: 'delivery' } } });
    expect((await act(line, seller, 'delivery', { attachments: [shot.json.items[0].id] })).json.stage).toBe('acceptance');
    expect((await s.call('GET', `/v1/supervisions?appeal=decided`, { key: op.key })).json.items.map((x: { orderLineId: string }) => x.orderLineId)).toContain(line);
  });

  it('lists products\' supervision at listing, and refuses an unsupervised licence', async () => {
    const bad = await s.call('POST', '/v1/products', { key: seller.key, body: { name: 'x', deliveryType: 'license', supervised: false, skus: [{ name: 'a', chargingMode: 'one_time', priceCents: 1 }] } });
    expect(bad.status).toBe(400);
    const [p] = await s.db.select().from(products).where(eq(products.deliveryType, 'manual_service'));
    expect(await dbRefusal(s.db.update(products).set({ supervised: false }).where(eq(products.id, p!.id)))).toMatch(/cannot change after listing/);
  });

  it(`keeps every run's history within ${SUPERVISION_HISTORY_BOUND} events (${SUPERVISION_HISTORY_ROLL} plus one action) by continuing as new`, async () => {
    const line = await order(licenceSku);
    const handle = s.env.client.workflow.getHandle(supervisionWorkflowId(line));
    const [seller0, buyer0] = [{ role: 'seller' as const, id: seller.id }, { role: 'buyer' as const, id: buyer.id }];
    const runs = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await handle.executeUpdate(actUpdate, { args: [{ actor: seller0, action: 'deliver', attachments: [{ id: 'F', kind: 'screenshot' }] }] });
      await handle.executeUpdate(actUpdate, { args: [{ actor: buyer0, action: 'rejectDelivery', comment: `round ${i}` }] });
      runs.add((await handle.describe()).runId);
    }
    expect(runs.size).toBeGreaterThan(1);
    const firstExecutionRunId = (await handle.describe()).raw.workflowExecutionInfo!.firstRunId!;
    const lengths = await expectHistoryWithin(s.env.client, Object.assign(s.env.client.workflow.getHandle(handle.workflowId, firstExecutionRunId), { firstExecutionRunId }), SUPERVISION_HISTORY_BOUND);
    expect(lengths.length).toBe(runs.size);
    await recordHistory(s.env.client.workflow.getHandle(handle.workflowId, firstExecutionRunId), 'continued-as-new');
    // Back-to-back actions end a run within one action's events of the roll.
    expect(Math.max(...lengths)).toBeLessThanOrEqual(SUPERVISION_HISTORY_ROLL + 40);
    const st = await handle.query(supervisionStateQuery);
    expect(st).toMatchObject({ logSeq: 81, facts: { stage: 'delivery', rejections: { buyer: 40 } } });
    const log = (await s.call('GET', `/v1/supervisions/${line}/log?limit=200`, { key: op.key })).json.items;
    expect(log.map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: 81 }, (_, i) => i + 1));
  });

  it('the reconciliation never provisions a supervised SaaS line, and flags a supervision whose workflow closed for operators', async () => {
    // A supervised SaaS product names an interface the marketplace must not call for its supervised lines.
    const saas = await s.call('POST', '/v1/products', { key: seller.key, body: {
      name: 'Supervised SaaS', deliveryType: 'saas', supervised: true, productionUrl: 'http://127.0.0.1:9/saasproduce', accessKey: 'an-access-key-of-16+',
      skus: [{ name: 'Monthly', chargingMode: 'monthly', priceCents: 1_000 }],
    } });
    expect(saas.json).toMatchObject({ supervised: true });
    expect((await s.call('POST', `/v1/products/${saas.json.id}/on-sale`, { key: op.key, body: {} })).status).toBe(200);
    const running = await order(saas.json.skus[0].id);
    const closed = await order(licenceSku);
    await s.env.client.workflow.getHandle(supervisionWorkflowId(closed)).terminate('terminated by hand, by mistake');

    await ensureReconcileSchedule(s.env.client, s.config.TEMPORAL_TASK_QUEUE, { everyMinutes: 60, graceMs: 0 });
    const schedule = s.env.client.schedule.getHandle(RECONCILE_SCHEDULE_ID);
    await schedule.trigger();
    let round: ReconcileResult | undefined;
    for (let i = 0; i < 300 && !round; i++) {
      const action = (await schedule.describe()).info.recentActions[0]?.action;
      if (action) round = await s.env.client.workflow.getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId).result() as ReconcileResult;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(round?.flagged).toEqual([supervisionWorkflowId(closed)]);
    expect(round?.repaired).toEqual([]);
    await expect(s.env.client.workflow.getHandle(saasProvisionWorkflowId(running)).describe()).rejects.toThrow(/not found/i);
    const stuck = await s.call('GET', `/v1/stuck-processes/${supervisionWorkflowId(closed)}`, { key: op.key });
    expect(stuck.json).toMatchObject({ workflowType: 'supervision', subjectId: closed, failureType: 'WorkflowClosed', resolvedAt: null });
  });
});
