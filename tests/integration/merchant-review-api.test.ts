import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationRevisions, merchantApplications, merchants } from '../../db/schema';
import { incompleteCalendarYears } from '../../db/calendar';
import { applicationInput } from '../support/fixtures';
import { startSystem, type System } from '../support/system';
import { eventually } from '../support/eventually';

let s: System;
let operator: { id: string; key: string };
let alice: { id: string; key: string };
let bob: { id: string; key: string };
beforeAll(async () => {
  s = await startSystem();
  operator = await s.party('operator', { supervisor: true });
  alice = await s.party('buyer');
  bob = await s.party('buyer');
});
afterAll(async () => s?.close());

const rows = async () => (await s.db.select({ n: count() }).from(merchantApplications))[0]!.n;
const apply = (key: string, overrides: Record<string, unknown> = {}, headers?: Record<string, string>) =>
  s.call('POST', '/v1/merchant-applications', { key, body: applicationInput(overrides), headers });

describe('seller onboarding over HTTP with PostgreSQL and the dev server', () => {
  it('applies, queues, approves, notifies, and a second decision gets 409', async () => {
    const created = await apply(alice.key, { customerServiceEmail: 'cs@alice.example.com' });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect(created.json).toMatchObject({ status: 'pending', kind: 'onboarding', workflowId: `merchant-review:${id}`, workflowStartedAt: expect.any(String) });

    const queued = await eventually(() => s.call('GET', '/v1/reviews?status=pending', { key: operator.key }),
      (r) => r.json.items.some((i: { id: string; deadline: string | null }) => i.id === id && i.deadline), 'the case in the queue with a deadline');
    const deadlines = queued.json.items.map((i: { deadline: string | null }) => i.deadline).filter(Boolean);
    expect([...deadlines].sort()).toEqual(deadlines);

    // Operators find it in the Temporal UI by its search attributes.
    const found = await eventually(async () => {
      const out: string[] = [];
      for await (const wf of s.env.client.workflow.list({ query: `ReviewStatus = "pending" AND ReviewKind = "onboarding" AND WorkflowId = "merchant-review:${id}"` })) out.push(wf.workflowId);
      return out;
    }, (l) => l.length === 1, 'visibility');
    expect(found).toEqual([`merchant-review:${id}`]);

    const approved = await s.call('POST', `/v1/reviews/${id}/approve`, { key: operator.key, body: { note: 'welcome aboard' } });
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ status: 'approved', decidedBy: operator.id });
    expect(approved.json.history.map((e: { type: string }) => e.type)).toEqual(['round_opened', 'approved']);

    const again = await s.call('POST', `/v1/reviews/${id}/reject`, { key: operator.key, body: { reasons: ['changed my mind'] } });
    expect(again.status).toBe(409);
    expect(again.type).toContain('application/problem+json');

    await eventually(async () => s.inbox.mails.filter((m) => m.subject.includes(id)), (m) => m.length === 1, 'the approval mail');
    expect(s.inbox.mails.find((m) => m.subject.includes(id))!.to).toEqual(['cs@alice.example.com']);
    const inbox = await eventually(() => s.call('GET', '/v1/messages', { key: alice.key }), (r) => r.json.items.length > 0, 'in-site message');
    expect(inbox.json.items[0].subject).toContain(id);

    // The approved applicant gets a seller key; the seller sees its merchant, nobody else does.
    const merchantId = approved.json.merchantId as string;
    const issued = await s.call('POST', `/v1/merchants/${merchantId}/api-keys`, { key: alice.key, body: {} });
    expect(issued.status).toBe(201);
    const seller = issued.json.apiKey as string;
    expect((await s.call('GET', `/v1/merchants/${merchantId}`, { key: seller })).json.profile.customerServiceEmail).toBe('cs@alice.example.com');
    expect((await s.call('GET', `/v1/merchants/${merchantId}`, { key: bob.key })).status).toBe(404);
    expect((await s.call('POST', `/v1/merchants/${merchantId}/api-keys`, { key: bob.key, body: {} })).status).toBe(404);

    // A finance contact applies at once; business information only when its review is approved.
    const change = await s.call('POST', `/v1/merchants/${merchantId}/changes`, {
      key: seller, body: { financeContact: { name: 'Han Meimei', phone: '+8613700000000', email: 'finance@alice.example.com' }, business: { address: '99 New Road, Hangzhou' } },
    });
    expect(change.status).toBe(200);
    expect(change.json.merchant.financeContact.email).toBe('finance@alice.example.com');
    expect(change.json.merchant.profile.address).not.toBe('99 New Road, Hangzhou');
    expect(change.json.review).toMatchObject({ kind: 'change', status: 'pending', merchantId });
    const second = await s.call('POST', `/v1/merchants/${merchantId}/changes`, { key: seller, body: { business: { address: 'elsewhere' } } });
    expect(second.status).toBe(409);
    const changeId = change.json.review.id as string;
    expect((await s.call('POST', `/v1/reviews/${changeId}/approve`, { key: operator.key, body: {} })).status).toBe(200);
    const [m] = await s.db.select().from(merchants).where(eq(merchants.id, merchantId));
    expect(m!.profile.address).toBe('99 New Road, Hangzhou');
  });

  it('rejects with reasons, takes a resubmission into the same case, and refuses one on a pending case', async () => {
    const { json: app } = await apply(alice.key);
    await eventually(() => s.call('GET', `/v1/merchant-applications/${app.id}`, { key: alice.key }), (r) => r.json.deadline !== null, 'deadline');
    const rejected = await s.call('POST', `/v1/reviews/${app.id}/reject`, { key: operator.key, body: { reasons: ['logo is missing'] } });
    expect(rejected.json).toMatchObject({ status: 'rejected', reasons: ['logo is missing'] });

    const body = { ...app.application, logoUrl: 'https://acme.example.com/new-logo.png' };
    const resubmitted = await s.call('POST', `/v1/merchant-applications/${app.id}/resubmit`, { key: alice.key, body });
    expect(resubmitted.status).toBe(200);
    expect(resubmitted.json).toMatchObject({ status: 'pending', round: 2 });
    expect(resubmitted.json.application.logoUrl).toBe('https://acme.example.com/new-logo.png');
    expect(resubmitted.json.history.map((e: { type: string }) => e.type)).toEqual(['round_opened', 'rejected', 'resubmitted', 'round_opened']);

    const revisions = async () => (await s.db.select({ n: count() }).from(applicationRevisions))[0]!.n;
    const before = await revisions();
    const onPending = await s.call('POST', `/v1/merchant-applications/${app.id}/resubmit`, { key: alice.key, body });
    expect(onPending.status).toBe(409);
    expect(await revisions()).toBe(before);
    expect((await s.call('POST', `/v1/merchant-applications/${app.id}/resubmit`, { key: bob.key, body })).status).toBe(404);
    const otherCompany = await s.call('POST', `/v1/reviews/${app.id}/reject`, { key: operator.key, body: { reasons: ['again'] } });
    expect(otherCompany.status).toBe(200);
    const swapped = await s.call('POST', `/v1/merchant-applications/${app.id}/resubmit`, { key: alice.key, body: { ...body, businessLicenceNo: '91310000AAAAAAAAAA' } });
    expect(swapped.status).toBe(422);
  });

  it('answers bad input with 400 problem+json naming the fields, and writes nothing', async () => {
    const before = await rows();
    const bad = await s.call('POST', '/v1/merchant-applications', { key: alice.key, body: { ...applicationInput(), website: 'ftp://x', contactPhone: 'call me', extra: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    expect(bad.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['body', 'body.contactPhone', 'body.website']);
    const malformed = await s.call('POST', '/v1/merchant-applications', { key: alice.key, raw: '{"companyName": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.type).toContain('application/problem+json');
    expect((await s.call('POST', '/v1/merchant-applications', { key: alice.key, body: applicationInput(), headers: { 'idempotency-key': 'has space' } })).status).toBe(400);
    expect((await s.call('GET', '/v1/reviews?status=bogus', { key: operator.key })).json.errors[0].field).toBe('query.status');
    expect((await s.call('GET', '/v1/reviews/not-an-id', { key: operator.key })).json.errors[0].field).toBe('path.id');
    expect((await s.call('POST', '/v1/reviews/MA0000/reject', { key: operator.key, body: { reasons: [] } })).status).toBe(400);
    expect((await s.call('PUT', '/v1/calendar/2026-02-30', { key: operator.key, body: { kind: 'holiday', name: 'x' } })).status).toBe(400);
    expect(await rows()).toBe(before);
  });

  it('keeps tenants apart (404) and roles apart (403), and wants a key (401)', async () => {
    const { json: app } = await apply(alice.key);
    expect((await s.call('GET', `/v1/merchant-applications/${app.id}`, { key: bob.key })).status).toBe(404);
    expect((await s.call('GET', '/v1/merchant-applications', { key: bob.key })).json.items.map((i: { id: string }) => i.id)).not.toContain(app.id);
    const forbidden = await s.call('POST', `/v1/reviews/${app.id}/approve`, { key: alice.key, body: {} });
    expect(forbidden.status).toBe(403);
    expect(forbidden.type).toContain('application/problem+json');
    expect((await s.call('GET', '/v1/reviews', { key: bob.key })).status).toBe(403);
    expect((await s.call('POST', '/v1/merchant-applications', { key: operator.key, body: applicationInput() })).status).toBe(403);
    expect((await s.call('GET', '/v1/reviews')).status).toBe(401);
    expect((await s.call('GET', '/v1/reviews', { key: 'mk_AAAAAAAAAAAAAAA_' + 'x'.repeat(43) })).status).toBe(401);
    expect((await s.call('GET', `/v1/merchant-applications/${app.id}`, { key: alice.key })).status).toBe(200);
  });

  it('refuses a second open application for a company (409) and replays one Idempotency-Key', async () => {
    const input = applicationInput();
    const first = await s.call('POST', '/v1/merchant-applications', { key: alice.key, body: input, headers: { 'idempotency-key': 'apply-once' } });
    expect(first.status).toBe(201);
    const replay = await s.call('POST', '/v1/merchant-applications', { key: alice.key, body: input, headers: { 'idempotency-key': 'apply-once' } });
    expect(replay.status).toBe(200);
    expect(replay.json.id).toBe(first.json.id);
    const open = await s.call('POST', '/v1/merchant-applications', { key: bob.key, body: { ...input, companyName: 'Acme Again' } });
    expect(open.status).toBe(409);
    expect(open.json.detail).toContain('open application');
    // Replayed after the case is decided: still the same case, not an error.
    expect((await s.call('POST', `/v1/reviews/${first.json.id}/approve`, { key: operator.key, body: {} })).status).toBe(200);
    const late = await s.call('POST', '/v1/merchant-applications', { key: alice.key, body: input, headers: { 'idempotency-key': 'apply-once' } });
    expect(late.status).toBe(200);
    expect(late.json).toMatchObject({ id: first.json.id, status: 'approved' });
    const dup = await s.call('POST', '/v1/merchant-applications', { key: bob.key, body: { ...input, companyName: 'Acme Again' } });
    expect(dup.status).toBe(409);
    expect(dup.json.detail).toContain('already a seller');
    expect(await s.db.select().from(merchantApplications).where(eq(merchantApplications.licenceNo, input.businessLicenceNo))).toHaveLength(1);
  });

  it('gives every response a request id, keeping a sane one the caller sent', async () => {
    const fresh = await s.call('GET', '/v1/reviews', { key: operator.key });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await s.call('GET', '/v1/reviews', { key: operator.key, headers: { 'x-request-id': 'trace-42' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-42');
    const replaced = await s.call('GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).not.toBe('bad id with spaces');
  });

  it('publishes the OpenAPI document and its docs page', async () => {
    const doc = await s.call('GET', '/openapi.json');
    expect(doc.json.openapi).toBe('3.1.0');
    expect(Object.keys(doc.json.paths)).toEqual(expect.arrayContaining(['/v1/merchant-applications', '/v1/reviews/{id}/approve', '/v1/calendar/{date}']));
    expect(doc.json.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
    expect(doc.json.paths['/v1/merchant-applications'].post.requestBody.content['application/json'].schema).toBeDefined();
    const docs = await fetch(`${s.baseUrl}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui');
  });

  it('lets operators extend the working-day calendar', async () => {
    const put = await s.call('PUT', '/v1/calendar/2027-02-08', { key: operator.key, body: { kind: 'holiday', name: 'Spring Festival' } });
    expect(put.status).toBe(200);
    expect((await s.call('GET', '/v1/calendar?from=2027-01-01&to=2027-12-31', { key: alice.key })).json.items).toEqual([{ date: '2027-02-08', kind: 'holiday', name: 'Spring Festival' }]);
    expect((await s.call('PUT', '/v1/calendar/2027-02-09', { key: alice.key, body: { kind: 'holiday', name: 'x' } })).status).toBe(403);
    expect((await s.call('DELETE', '/v1/calendar/2027-02-08', { key: operator.key })).status).toBe(200);
    expect((await s.call('DELETE', '/v1/calendar/2027-02-08', { key: operator.key })).status).toBe(404);
  });

  it('counts a calendar year as entered only once an operator marks it complete, and says so at /healthz until then', async () => {
    const nov2026 = new Date('2026-11-29T00:00:00Z');
    expect(await incompleteCalendarYears(s.db, new Date('2026-05-01T00:00:00Z'))).toEqual([]);
    expect(await incompleteCalendarYears(s.db, nov2026)).toEqual([2027]);
    expect(await incompleteCalendarYears(s.db, new Date('2028-03-01T00:00:00Z'))).toEqual([2028]);
    // A single day entered is not the year entered.
    expect((await s.call('PUT', '/v1/calendar/2027-01-01', { key: operator.key, body: { kind: 'holiday', name: "New Year's Day" } })).status).toBe(200);
    expect(await incompleteCalendarYears(s.db, nov2026)).toEqual([2027]);
    const health = await s.call('GET', '/healthz');
    expect(health.json).toMatchObject({ ok: true, demoFast: false });
    // /healthz speaks for the real clock: the year named is whichever coming year is still open now.
    expect(health.json.calendar.incompleteYears).toEqual(await incompleteCalendarYears(s.db));
    expect(health.json.warnings.join(' ')).toContain('PUT /v1/calendar/years/');

    // Marking needs holidays entered, an operator, and a real year.
    expect((await s.call('PUT', '/v1/calendar/years/2031', { key: operator.key, body: {} })).status).toBe(422);
    expect((await s.call('PUT', '/v1/calendar/years/2027', { key: alice.key, body: {} })).status).toBe(403);
    expect((await s.call('PUT', '/v1/calendar/years/27', { key: operator.key, body: {} })).status).toBe(400);
    const marked = await s.call('PUT', '/v1/calendar/years/2027', { key: operator.key, body: {} });
    expect(marked.status).toBe(200);
    expect(marked.json).toMatchObject({ year: 2027, complete: true, completedBy: operator.id, holidays: 1, workdays: 0 });
    expect(await incompleteCalendarYears(s.db, nov2026)).toEqual([]);
    const years = (await s.call('GET', '/v1/calendar/years', { key: alice.key })).json.items;
    expect(years.map((y: { year: number; complete: boolean }) => [y.year, y.complete])).toEqual([[2025, true], [2026, true], [2027, true]]);

    // Reopened (a revised notice), it is missing again.
    expect((await s.call('DELETE', '/v1/calendar/years/2027', { key: operator.key })).json.complete).toBe(false);
    expect((await s.call('DELETE', '/v1/calendar/years/2027', { key: operator.key })).status).toBe(404);
    expect(await incompleteCalendarYears(s.db, nov2026)).toEqual([2027]);
    expect((await s.call('DELETE', '/v1/calendar/2027-01-01', { key: operator.key })).status).toBe(200);
  });
});
