import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyFailures, toActivityFailure } from '../../activities/failures';
import { openDatabase } from '../../db/client';
import { principals } from '../../db/schema';
import { FAILURE } from '../../workflows/failure-types';
import { freshDatabase } from '../support/db';

let database: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => { database = await freshDatabase(); });
afterAll(async () => database?.drop());

/** What a real drizzle/pg call throws, turned into what Temporal would store. */
const failureOf = async (run: () => Promise<unknown>) => {
  try { await run(); } catch (e) { return toActivityFailure(e) as ApplicationFailure; }
  throw new Error('expected the call to fail');
};
const SECRET = 'lilei@acme.example.com';

describe('classification of activity errors', () => {
  it('a data exception (22P05, a NUL character) is non-retryable DataRejected, without the SQL or its parameters', async () => {
    const f = await failureOf(() => database.db.insert(principals).values({ id: 'P1', role: 'buyer', name: `${SECRET}\u0000` }));
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f).toMatchObject({ type: FAILURE.dataRejected, nonRetryable: true });
    expect(f.message).toContain('22');
    expect(f.message).not.toContain(SECRET);
    expect(f.message).not.toMatch(/insert|principals"|params/i);
    expect(f.stack).not.toContain(SECRET);
  });

  it('a constraint violation (23505) is non-retryable ConstraintViolated and names the constraint, not the values', async () => {
    await database.db.insert(principals).values({ id: 'P2', role: 'buyer', name: 'x', email: SECRET });
    const f = await failureOf(() => database.db.insert(principals).values({ id: 'P2', role: 'buyer', name: 'y', email: SECRET }));
    expect(f).toMatchObject({ type: FAILURE.constraintViolated, nonRetryable: true });
    expect(f.message).toContain('23505');
    expect(f.message).toContain('principals_pkey');
    expect(f.message).not.toContain('P2');
  });

  it('a statement wrong for the schema (42P01) is a non-retryable Bug', async () => {
    const f = await failureOf(() => database.db.execute(sql`select * from no_such_table where x = ${SECRET}`));
    expect(f).toMatchObject({ type: FAILURE.bug, nonRetryable: true });
    expect(f.message).not.toContain(SECRET);
  });

  it('a serialization failure or a deadlock (40001, 40P01) retries', async () => {
    for (const code of ['40001', '40P01', '57P01', '53300']) {
      const f = await failureOf(() => database.db.execute(sql.raw(`do $$ begin raise exception 'boom' using errcode = '${code}'; end $$`)));
      expect(f, code).toMatchObject({ type: FAILURE.unavailable, nonRetryable: false });
    }
  });

  it('a database that cannot be reached retries as Unavailable', async () => {
    // Port 9 (discard) is closed on loopback: the pool's connection is refused.
    const url = new URL(database.url);
    url.port = '9';
    const f = await failureOf(() => openDatabase({ url: url.toString(), poolSize: 1 }));
    expect(f).toMatchObject({ type: FAILURE.unavailable, nonRetryable: false });
  });

  it('programming errors are non-retryable Bugs; other errors retry; ApplicationFailures pass through', async () => {
    const acts = classifyFailures({
      async bug() { return (undefined as unknown as { x: number }).x; },
      async other() { throw new Error(`smtp said no for ${'a'.repeat(500)}`); },
      async mine() { throw ApplicationFailure.nonRetryable('order line L1 not found', 'OrderLineNotFound'); },
      async fine(n: number) { return n + 1; },
    });
    await expect(acts.bug()).rejects.toMatchObject({ type: FAILURE.bug, nonRetryable: true });
    const other = await acts.other().catch((e: ApplicationFailure) => e);
    expect(other).toMatchObject({ type: FAILURE.unexpected, nonRetryable: false });
    expect(other.message.length).toBeLessThan(320);
    await expect(acts.mine()).rejects.toMatchObject({ type: 'OrderLineNotFound', nonRetryable: true });
    expect(await acts.fine(1)).toBe(2);
    expect(acts.fine.name).toBe('fine');
  });
});
