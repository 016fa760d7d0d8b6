import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { dbErrorKind, describeDbError, sqlState } from '../db/errors';
import { FAILURE } from '../workflows/failure-types';

const MAX_MESSAGE = 300;

/** The first line of a message, without the SQL text and parameters drizzle puts into its own. */
function safeMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const first = text.split('\n')[0]!.replace(/^Failed query:.*$/s, 'a database query failed');
  return first.length > MAX_MESSAGE ? `${first.slice(0, MAX_MESSAGE)}…` : first;
}

/**
 * Turns whatever an activity threw into the ApplicationFailure Temporal stores (docs/durable-patterns.md):
 * errors that cannot succeed on retry become non-retryable and typed, transient ones stay retryable, and
 * no message carries SQL text, query parameters or the values a database error quotes. The original
 * error is not attached as a cause, because the cause's message would be stored too.
 * ApplicationFailures and cancellations an activity raised on purpose pass through unchanged.
 */
export function toActivityFailure(e: unknown): unknown {
  if (e instanceof TemporalFailure) return e;
  const state = sqlState(e);
  const details = state ? [{ sqlState: state }] : [];
  const fail = (type: string, nonRetryable: boolean, message: string) => ApplicationFailure.create({ type, nonRetryable, message, details });
  switch (dbErrorKind(e)) {
    case 'transient': return fail(FAILURE.unavailable, false, describeDbError(e) ?? 'the database is unavailable');
    case 'data': return fail(FAILURE.dataRejected, true, `the database refused the values: ${describeDbError(e)}`);
    case 'constraint': return fail(FAILURE.constraintViolated, true, `a constraint refused the write: ${describeDbError(e)}`);
    case 'bug': return fail(FAILURE.bug, true, `the statement is wrong for this database: ${describeDbError(e)}`);
    case 'unknown': break;
  }
  if (state) return fail(FAILURE.unexpected, false, describeDbError(e)!);
  const name = (e as Error)?.name;
  if (name === 'ZodError') return fail(FAILURE.invalidData, true, 'a value failed validation');
  if (e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError || e instanceof SyntaxError) {
    return fail(FAILURE.bug, true, `${name}: ${safeMessage(e)}`);
  }
  return fail(FAILURE.unexpected, false, `${name && name !== 'Error' ? `${name}: ` : ''}${safeMessage(e)}`);
}

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** Wraps every activity of a set so that what it throws is classified by `toActivityFailure`. */
export function classifyFailures<T extends Record<string, AnyActivity>>(activities: T): T {
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, {
    // A named function keeps the activity's name in stack traces.
    [name]: async (...args: never[]) => { try { return await fn(...args); } catch (e) { throw toActivityFailure(e); } },
  }[name]!])) as T;
}
