import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { merchantApplications, notifications, orders, products, skus, stuckProcesses } from '../../db/schema';
import { newId } from '../../domain/ids';
import { applicationInput } from '../support/fixtures';
import { startSystem, type System } from '../support/system';

/**
 * Lists over real HTTP (api/pagination.ts, decision 022): cursor pages on every list, their bounds, the
 * seller's order list, and an Idempotency-Key reused with another body.
 */
let s: System;
let operator: { id: string; key: string };
let buyer: { id: string; key: string };
let sellerA: { id: string; key: string; merchantId: string };
let sellerB: { id: string; key: string; merchantId: string };
const sku: Record<'A' | 'B', string> = { A: '', B: '' };
const productOf: Record<'A' | 'B', string> = { A: '', B: '' };

beforeAll(async () => {
  s = await startSystem();
  operator = await s.party('operator');
  buyer = await s.party('buyer');
  for (const side of ['A', 'B'] as const) {
    const merchantId = await s.merchant();
    const party = { ...(await s.party('seller', { merchantId })), merchantId };
    if (side === 'A') sellerA = party; else sellerB = party;
    // Licence products: ordering one starts no provisioning, so these tests need no seller interface.
    productOf[side] = newId('PR', 12);
    sku[side] = newId('SK', 12);
    await s.db.insert(products).values({ id: productOf[side], merchantId, name: `Licence ${side}`, deliveryType: 'license', status: 'on_sale' });
    await s.db.insert(skus).values({ id: sku[side], productId: productOf[side], name: 'Perpetual', chargingMode: 'one_time', periods: 1, priceCents: 100 });
  }
  expect((await s.call('POST', `/v1/accounts/${buyer.id}/top-up`, { key: operator.key, body: { amountCents: 100_000 } })).status).toBe(200);
});
afterAll(async () => s?.close());

/** Every page of a list from the first, with `between` run after each page; the items in the order served. */
async function walk(path: string, key: string, limit: number, between: (page: number) => Promise<void> = async () => {}) {
  const items: { id: string | number; [k: string]: unknown }[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await s.call('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { key });
    expect(r.status, r.text).toBe(200);
    expect(r.json.items.length).toBeLessThanOrEqual(limit);
    items.push(...r.json.items);
    cursor = r.json.nextCursor;
    if (!cursor) return items;
    await between(page);
  }
  throw new Error('the list never ended');
}

const insertOrder = async (buyerId: string, createdAt: Date | string, id = `CS${newId('', 16)}`) => {
  await s.db.insert(orders).values({ id, buyerPrincipalId: buyerId, status: 'completed', totalCents: 0, createdAt: typeof createdAt === 'string' ? sql`${createdAt}::timestamptz` as unknown as Date : createdAt });
  return id;
};

describe('cursor pages', () => {
  it('walks every order once, newest first, while orders are added, including ties within a millisecond', async () => {
    const lister = await s.party('buyer');
    const before = new Set<string>();
    const base = Date.parse('2026-03-01T00:00:00.000Z');
    // Ten rows on one millisecond, and rows that differ only in microseconds with ids in the other order.
    for (let i = 0; i < 10; i++) before.add(await insertOrder(lister.id, new Date(base)));
    before.add(await insertOrder(lister.id, '2026-03-01T00:00:00.000400Z', 'CSAAAAAAAAAAAAAAAA'));
    before.add(await insertOrder(lister.id, '2026-03-01T00:00:00.000200Z', 'CSZZZZZZZZZZZZZZZZ'));
    for (let i = 1; i <= 20; i++) before.add(await insertOrder(lister.id, new Date(base - i * 60_000)));
    let added = 0;
    const items = await walk('/v1/orders', lister.key, 3, async (page) => {
      // Newer orders, older ones (still ahead of the walk), and ones on the tied millisecond.
      await insertOrder(lister.id, new Date(base + 3_600_000 + page));
      await insertOrder(lister.id, new Date(base - 30 * 60_000 - page));
      await insertOrder(lister.id, new Date(base));
      added += 3;
    });
    const ids = items.map((o) => o.id as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of before) expect(ids).toContain(id);
    const times = items.map((o) => Date.parse(o.createdAt as string));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(added).toBeGreaterThan(0);
    // What the walk did not see was added behind it: it is all there on a fresh walk.
    expect((await walk('/v1/orders', lister.key, 200)).length).toBe(before.size + added);
  });

  it('walks in-site messages (a serial key) once each while messages arrive', async () => {
    const reader = await s.party('buyer');
    const send = (n: number) => s.db.insert(notifications).values(Array.from({ length: n }, () => ({
      dedupeKey: newId('N', 12), channel: 'inapp' as const, recipientPrincipalId: reader.id, subject: 's', body: 'b', status: 'stored' as const,
    })));
    await send(25);
    const items = await walk('/v1/messages', reader.key, 4, async () => { await send(2); });
    const ids = items.map((m) => m.id as number);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(ids.length).toBeGreaterThanOrEqual(25);
  });

  const NO_LINE = 'CS2611300000AAAAAAAA-000001';
  it('walks stuck processes whose workflow ids hold dots, and refuses a cursor that decodes to none', async () => {
    const since = new Date('2026-04-01T00:00:00Z');
    const ids = ['image-asset:IA1:1.0.0', 'image-asset:IA1:1.0.1', 'merchant-review:MA1', 'image-asset:IA2:2.0.0-rc.1'];
    await s.db.insert(stuckProcesses).values(ids.map((workflowId) => ({ workflowId, workflowType: 'imageAsset', subjectId: 'x', step: 'scan', failureType: 'ArchiveMissing', message: 'm', since })));
    const items = await walk('/v1/stuck-processes?workflowType=imageAsset', operator.key, 1);
    expect(items.map((i) => i.workflowId)).toEqual([...ids].sort());
    expect((await s.call('GET', '/v1/stuck-processes?cursor=0.00', { key: operator.key })).status).toBe(400);
  });

  it('every list refuses bad bounds, bad cursors and unknown parameters with 400 problem+json, and pages otherwise', async () => {
    const lists: [string, string][] = [
      ['/v1/orders', buyer.key], ['/v1/orders', sellerA.key], ['/v1/products', buyer.key], ['/v1/merchant-applications', buyer.key],
      ['/v1/reviews', operator.key], ['/v1/reviews?status=approved', operator.key], ['/v1/messages', buyer.key],
      ['/v1/interface-messages', operator.key], ['/v1/bills', buyer.key], ['/v1/transactions', operator.key], ['/v1/ledger/accounts', operator.key],
      ['/v1/calendar', buyer.key], ['/v1/calendar/years', buyer.key], ['/v1/api-keys', operator.key], ['/v1/stuck-processes', operator.key],
      ['/v1/stuck-processes?resolved=true', operator.key], [`/v1/products/${productOf.A}/conformance-runs`, operator.key],
      ['/v1/supervisions', buyer.key], ['/v1/supervisions?appeal=open', operator.key], ['/v1/assets', sellerA.key], ['/v1/assets', operator.key],
      ['/v1/subscriptions', buyer.key], ['/v1/subscriptions?status=frozen', operator.key], ['/v1/subscriptions', sellerA.key],
      ['/v1/scan/malware-digests', operator.key], ['/v1/product-reviews', operator.key], ['/v1/product-reviews?status=approved', operator.key],
      // A line's lists check their query before the line: no such line is 404 once the query is good.
      [`/v1/supervisions/${NO_LINE}/log`, operator.key], [`/v1/supervisions/${NO_LINE}/files`, operator.key], [`/v1/supervisions/${NO_LINE}/downloads`, operator.key],
    ];
    for (const [path, key] of lists) {
      const sep = path.includes('?') ? '&' : '?';
      for (const bad of ['limit=0', 'limit=201', 'limit=-1', 'limit=1e2', 'limit=', 'cursor=', 'cursor=not%20a%20cursor', 'cursor=%E2%9C%93', 'cursor=a.b.c.d', 'foo=1']) {
        const r = await s.call('GET', `${path}${sep}${bad}`, { key });
        expect(r.status, `${path} ${bad}: ${r.text}`).toBe(400);
        expect(r.type).toContain('application/problem+json');
      }
      const first = await s.call('GET', `${path}${sep}limit=200`, { key });
      if (path.includes(NO_LINE)) { expect(first.status).toBe(404); continue; }
      expect(first.status, `${path}: ${first.text}`).toBe(200);
      expect(first.json).toHaveProperty('nextCursor');
      expect(Array.isArray(first.json.items)).toBe(true);
    }
    // A cursor of one list is not one of another whose keys differ.
    await insertOrder(buyer.id, new Date(Date.now() - 60_000));
    await insertOrder(buyer.id, new Date(Date.now() - 120_000));
    const cursor = (await s.call('GET', '/v1/orders?limit=1', { key: buyer.key })).json.nextCursor as string;
    expect(cursor).toBeTruthy();
    expect((await s.call('GET', `/v1/messages?cursor=${cursor}`, { key: buyer.key })).status).toBe(400);
    expect((await s.call('GET', `/v1/orders?cursor=${cursor}`, { key: buyer.key })).status).toBe(200);
  });
});

describe("a seller's order list", () => {
  it('lists the orders that hold its lines, with only its lines; the buyer sees all', async () => {
    const both = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId: sku.A }, { skuId: sku.B }] } });
    const onlyB = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId: sku.B }] } });
    expect(both.status).toBe(201);
    expect(onlyB.status).toBe(201);

    const seen = async (key: string) => (await walk('/v1/orders', key, 1)) as unknown as { id: string; lines: { merchantId: string }[] }[];
    const a = await seen(sellerA.key);
    expect(a.map((o) => o.id)).toEqual([both.json.id]);
    expect(a[0]!.lines.map((l) => l.merchantId)).toEqual([sellerA.merchantId]);
    const b = await seen(sellerB.key);
    expect(b.map((o) => o.id).sort()).toEqual([onlyB.json.id, both.json.id].sort());
    for (const o of b) expect(o.lines.every((l) => l.merchantId === sellerB.merchantId)).toBe(true);
    // The same view as reading the order by id.
    expect((await s.call('GET', `/v1/orders/${both.json.id}`, { key: sellerA.key })).json).toEqual(a[0]);
    const mine = (await s.call('GET', '/v1/orders?limit=200', { key: buyer.key })).json.items as { id: string; lines: unknown[] }[];
    expect(mine.find((o) => o.id === both.json.id)!.lines).toHaveLength(2);
    // A seller with no lines sees none, and operators have no order list (403).
    expect((await s.call('GET', '/v1/orders', { key: (await s.party('seller', { merchantId: await s.merchant() })).key })).json).toEqual({ items: [], nextCursor: null });
    expect((await s.call('GET', '/v1/orders', { key: operator.key })).status).toBe(403);
  });
});

describe('Idempotency-Key with another body', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  it('answers 422 naming the first fingerprint and changes nothing; the same body still returns the first order', async () => {
    const key = `idem-${newId('', 8)}`;
    const first = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId: sku.A }] }, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    const balance = (await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents;
    const count = (await s.db.select().from(orders).where(eq(orders.buyerPrincipalId, buyer.id))).length;

    const other = await s.call('POST', '/v1/orders', { key: buyer.key, body: { items: [{ skuId: sku.B }] }, headers: { 'idempotency-key': key } });
    expect(other.status).toBe(422);
    expect(other.type).toContain('application/problem+json');
    const firstFingerprint = sha256(`{"items":[{"skuId":"${sku.A}"}]}`);
    expect(other.json.detail).toContain(firstFingerprint);
    expect(other.json.detail).toContain(sha256(`{"items":[{"skuId":"${sku.B}"}]}`));
    expect(other.json.errors[0]).toEqual({ field: 'header.idempotency-key', message: `first used with the body of fingerprint sha256:${firstFingerprint}` });
    expect((await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents).toBe(balance);
    expect((await s.db.select().from(orders).where(eq(orders.buyerPrincipalId, buyer.id))).length).toBe(count);

    // The same body, written differently (spaces), is the same request.
    const again = await s.call('POST', '/v1/orders', { key: buyer.key, raw: `{ "items" : [ { "skuId": "${sku.A}" } ] }`, headers: { 'idempotency-key': key } });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);
    expect((await s.call('GET', '/v1/account', { key: buyer.key })).json.balanceCents).toBe(balance);
    // Keys are the caller's own: another buyer's same key is another request.
    const other2 = await s.party('buyer');
    expect((await s.call('POST', '/v1/orders', { key: other2.key, body: { items: [{ skuId: sku.B }] }, headers: { 'idempotency-key': key } })).status).toBe(402);
  });

  it('holds for every POST that takes an Idempotency-Key: applications and top-ups', async () => {
    const applicant = await s.party('buyer');
    const key = `idem-${newId('', 8)}`;
    const input = applicationInput();
    const first = await s.call('POST', '/v1/merchant-applications', { key: applicant.key, body: input, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    const changed = await s.call('POST', '/v1/merchant-applications', { key: applicant.key, body: { ...input, companyName: 'Other Co' }, headers: { 'idempotency-key': key } });
    expect(changed.status).toBe(422);
    expect((await s.db.select().from(merchantApplications).where(eq(merchantApplications.applicantPrincipalId, applicant.id)))).toHaveLength(1);
    // Key order does not change the fingerprint.
    const reordered = Object.fromEntries(Object.entries(input).reverse());
    expect((await s.call('POST', '/v1/merchant-applications', { key: applicant.key, body: reordered, headers: { 'idempotency-key': key } })).json.id).toBe(first.json.id);

    const topUp = (amountCents: number) => s.call('POST', `/v1/accounts/${applicant.id}/top-up`, { key: operator.key, body: { amountCents }, headers: { 'idempotency-key': key } });
    expect((await topUp(500)).json.balanceCents).toBe(500);
    const more = await topUp(700);
    expect(more.status).toBe(422);
    expect(more.json.detail).toContain(sha256('{"amountCents":500}'));
    expect((await topUp(500)).json.balanceCents).toBe(500);
    expect((await s.call('GET', '/v1/account', { key: applicant.key })).json.balanceCents).toBe(500);
  });
});
