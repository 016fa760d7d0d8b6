/**
 * What a database error means for the caller: can a retry succeed, and what may be said about it.
 * Read from pg's error or drizzle's wrapper of it (DrizzleQueryError keeps pg's error as `cause`).
 */
const PG = { uniqueViolation: '23505', foreignKeyViolation: '23503' } as const;

// SQLSTATE classes start with a digit, or are one of the few lettered ones; Node's codes (EPIPE) are not.
const SQLSTATE = /^([0-9][0-9A-Z]|HV|P0|XX|F0)[0-9A-Z]{3}$/;

interface PgLike { code?: string; constraint?: string; table?: string; column?: string; message?: string }

/** The PostgreSQL error under drizzle's wrapper, if there is one. */
const pgErrorOf = (e: unknown): PgLike | undefined => {
  for (let x = e as (PgLike & { cause?: unknown }) | undefined, depth = 0; x && depth < 4; x = x.cause as typeof x, depth++) {
    if (typeof x.code === 'string' && SQLSTATE.test(x.code)) return x;
  }
  return undefined;
};

/** The SQLSTATE of a database error, or undefined when the error did not come from PostgreSQL. */
export const sqlState = (e: unknown): string | undefined => pgErrorOf(e)?.code;
export const isUniqueViolation = (e: unknown) => sqlState(e) === PG.uniqueViolation;
export const isForeignKeyViolation = (e: unknown) => sqlState(e) === PG.foreignKeyViolation;

/**
 * - `transient`: the database is away or busy; the same statement may succeed later (connection lost,
 *   serialization failure, deadlock, shutdown, out of resources, a timeout).
 * - `data`: the database refuses these values (22xxx data exception); retrying the same values never helps.
 * - `constraint`: an integrity constraint refuses the write (23xxx) that the code did not handle as an
 *   idempotent replay; retrying never helps.
 * - `bug`: the statement itself is wrong for this database (42xxx, 0A000, 25xxx, …): our code or schema.
 * - `unknown`: not a PostgreSQL error, or a class not listed here.
 */
export type DbErrorKind = 'transient' | 'data' | 'constraint' | 'bug' | 'unknown';

const TRANSIENT_CLASSES = ['08', '53', '57', '58'];
const TRANSIENT_STATES = new Set(['40001', '40P01', '55P03', '55006']);
const BUG_CLASSES = ['0A', '25', '26', '2B', '2D', '34', '3D', '3F', '42', 'XX'];
// Errors of the pg driver and its pool that carry no SQLSTATE: the connection, not the statement, failed.
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
const TRANSIENT_MESSAGES = [
  /connection terminated/i, /timeout exceeded when trying to connect/i, /connection timeout/i, /not queryable/i,
  /Client was closed/i, /server closed the connection/i, /Connection refused/i, /query read timeout/i,
];

export function dbErrorKind(e: unknown): DbErrorKind {
  const code = sqlState(e);
  if (code) {
    if (TRANSIENT_STATES.has(code) || TRANSIENT_CLASSES.includes(code.slice(0, 2))) return 'transient';
    // 57014 query_canceled is a statement timeout: transient like the rest of class 57.
    if (code.startsWith('22')) return 'data';
    if (code.startsWith('23')) return 'constraint';
    if (BUG_CLASSES.includes(code.slice(0, 2))) return 'bug';
    return 'unknown';
  }
  for (let x = e as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; x && depth < 4; x = x.cause as typeof x, depth++) {
    if (typeof x.code === 'string' && TRANSIENT_NODE_CODES.has(x.code)) return 'transient';
    if (typeof x.message === 'string' && TRANSIENT_MESSAGES.some((m) => m.test(x.message as string))) return 'transient';
  }
  return 'unknown';
}

export const isTransientDbError = (e: unknown) => dbErrorKind(e) === 'transient';

/**
 * A description of a database error that is safe to store and show: the SQLSTATE and the names of the
 * constraint, table and column, never the SQL text, its parameters or the server's message (which
 * quotes the offending values, e.g. `Key (email)=(…) already exists`).
 */
export function describeDbError(e: unknown): string | undefined {
  const pg = pgErrorOf(e);
  if (!pg?.code) return dbErrorKind(e) === 'transient' ? 'the database connection failed' : undefined;
  const where = [pg.table && `table ${pg.table}`, pg.column && `column ${pg.column}`, pg.constraint && `constraint ${pg.constraint}`].filter(Boolean);
  return `PostgreSQL error ${pg.code}${where.length ? ` (${where.join(', ')})` : ''}`;
}
