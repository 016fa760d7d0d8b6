import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationInput } from '../support/fixtures';
import { startSystem, type System } from '../support/system';

let s: System;
let operator: { id: string; key: string };
let applicant: { id: string; key: string };
beforeAll(async () => {
  s = await startSystem();
  operator = await s.party('operator', { supervisor: true });
  applicant = await s.party('buyer');
});
afterAll(async () => s?.close());

const eventually = async <T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> => {
  for (let i = 0; i < 150; i++) { const v = await fn(); if (ok(v)) return v; await new Promise((r) => setTimeout(r, 100)); }
  throw new Error(`timed out waiting for ${what}`);
};
/** A fault injected below the API and the activities: PostgreSQL itself refuses the write. */
const inject = (name: string, table: string, when: string, errcode: string) => s.db.execute(sql.raw(`
  create or replace function ${name}() returns trigger language plpgsql as $$
  begin if ${when} then raise exception 'injected fault' using errcode = '${errcode}'; end if; return new; end $$;
  create trigger ${name} before insert or update on ${table} for each row execute function ${name}();`));
const heal = (name: string, table: string) => s.db.execute(sql.raw(`drop trigger if exists ${name} on ${table}`));
async function openCase() {
  const created = await s.call('POST', '/v1/merchant-applications', { key: applicant.key, body: applicationInput() });
  expect(created.status).toBe(201);
  const id = created.json.id as string;
  await eventually(() => s.call('GET', `/v1/reviews/${id}`, { key: operator.key }), (r) => r.json.deadline !== null, 'the deadline');
  return id;
}
/** Wall-clock time of one call: a decision never holds an HTTP request for more than a few seconds. */
const timed = async <T>(fn: () => Promise<T>) => { const t = Date.now(); const r = await fn(); return { r, ms: Date.now() - t }; };

describe('decisions that cannot finish at once, over HTTP', () => {
  it('a reject whose reason the database refuses answers 422 at once and leaves the case open for the next decision', async () => {
    const id = await openCase();
    await inject('poison_reason', 'merchant_applications', `new.reasons::text like '%POISON%'`, '22P05');
    try {
      const { r: refused, ms } = await timed(() => s.call('POST', `/v1/reviews/${id}/reject`, { key: operator.key, body: { reasons: ['POISON in the reason'] } }));
      expect(refused.status).toBe(422);
      expect(refused.type).toContain('application/problem+json');
      expect(refused.json.detail).toContain('22P05');
      expect(ms).toBeLessThan(8_000);
    } finally {
      await heal('poison_reason', 'merchant_applications');
    }
    const approved = await s.call('POST', `/v1/reviews/${id}/approve`, { key: operator.key, body: {} });
    expect(approved.status).toBe(200);
    expect(approved.json.status).toBe('approved');
  });

  it('an approve held by our own fault answers 202 with the case to follow; operators list it as stuck and their retry delivers it once fixed', async () => {
    const id = await openCase();
    await inject('broken_merchants', 'merchants', 'true', '23514');
    try {
      const { r: held, ms } = await timed(() => s.call('POST', `/v1/reviews/${id}/approve`, { key: operator.key, body: {} }));
      expect(held.status).toBe(202);
      expect(held.headers.get('location')).toBe(`/v1/reviews/${id}`);
      expect(held.json.status).toBe('pending');
      expect(ms).toBeLessThan(10_000);

      const listed = await eventually(() => s.call('GET', '/v1/stuck-processes', { key: operator.key }),
        (r) => r.json.items.some((i: { subjectId: string }) => i.subjectId === id), 'the stuck list');
      const item = listed.json.items.find((i: { subjectId: string }) => i.subjectId === id);
      expect(item).toMatchObject({ workflowId: `merchant-review:${id}`, workflowType: 'merchantReview', step: 'approve', failureType: 'ConstraintViolated', resolvedAt: null });
      expect((await s.call('GET', '/v1/stuck-processes', { key: applicant.key })).status).toBe(403);
      // A second decision while the first is held: 409, the case is not open to another.
      expect((await s.call('POST', `/v1/reviews/${id}/reject`, { key: operator.key, body: { reasons: ['no'] } })).status).toBe(409);

      const early = await s.call('POST', `/v1/stuck-processes/merchant-review:${id}/retry`, { key: operator.key, body: {} });
      expect(early.status).toBe(200);
      expect(early.json).toMatchObject({ resolved: false, stuck: { failureType: 'ConstraintViolated' } });
    } finally {
      await heal('broken_merchants', 'merchants');
    }
    const retried = await s.call('POST', `/v1/stuck-processes/merchant-review:${id}/retry`, { key: operator.key, body: {} });
    expect(retried.status).toBe(200);
    expect(retried.json).toEqual({ resolved: true, stuck: null });
    const done = await eventually(() => s.call('GET', `/v1/reviews/${id}`, { key: operator.key }), (r) => r.json.status === 'approved', 'approved');
    expect(done.json.decidedBy).toBe(operator.id);
    expect((await s.call('GET', `/v1/stuck-processes/merchant-review:${id}`, { key: operator.key })).json).toMatchObject({ resolvedBy: operator.id });
    expect((await s.call('POST', `/v1/stuck-processes/merchant-review:${id}/retry`, { key: operator.key, body: {} })).status).toBe(409);
  });
});
