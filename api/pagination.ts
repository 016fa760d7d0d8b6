/**
 * Cursor pages for every list (docs/decisions/022-list-pages.md): `?limit=` (1–200, default 50) and `?cursor=`
 * from the previous page's `nextCursor` (null on the last page). The cursor holds the sort key of the page's
 * last row plus its id, and the next page starts strictly after it (keyset), so a page never skips or repeats a
 * row when rows are added meanwhile, and it costs an index range scan however deep the page is.
 *
 * A cursor is opaque to clients, but its grammar is stated exactly in the OpenAPI document: every string the
 * pattern admits is a position in the list (so a well-formed cursor is never refused), and any other is a 400.
 */
import { asc, desc, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { z, type ZodType } from 'zod';
import { queryInt } from './schemas';

export const MAX_LIMIT = 200;
export const DEFAULT_LIMIT = 50;

type Value = string | number;
interface Key<R> {
  /** What the list orders by. */
  by: SQL;
  /** The cursor's text for this key, and the pattern of that text (no `.`: it separates the keys). */
  pattern: string;
  encode: (r: R) => string;
  /** The SQL value a cursor's text stands for. */
  decode: (text: string) => SQL;
  /** The value the in-memory lists compare (only `int` and `text` keys). */
  value?: (text: string) => Value;
}

// Instants are compared to the millisecond (what a Date holds), as milliseconds since 1970 in base 36:
// 9 digits reach the year 5188, so every cursor the pattern admits is an instant PostgreSQL takes.
const INSTANT_DIGITS = 9;
// Ids of every kind the lists page: newId's Crockford base32 with prefixes, `buyer:P…` accounts, workflow ids, dates.
const ID_PATTERN = '[A-Za-z0-9_:-]{1,120}';

/** The instant a list orders by: to the millisecond, in UTC. */
export const instantExpression = (column: AnyColumn) => sql`date_trunc('milliseconds', ${column} at time zone 'UTC')`;

export const sortKey = {
  /** A timestamp; `nullsLast` orders rows without one after every other (as `+∞`). */
  instant: <R>(column: AnyColumn, of: (r: R) => Date | null, o: { nullsLast?: boolean } = {}): Key<R> => {
    const last = 36 ** INSTANT_DIGITS - 1;
    const utc = (ms: number) => new Date(ms).toISOString().slice(0, -1);
    // In UTC without a zone date_trunc is immutable, so an index can hold the expression (orders_buyer_page).
    const truncated = instantExpression(column);
    return {
      by: o.nullsLast ? sql`coalesce(${truncated}, ${utc(last)}::timestamp)` : truncated,
      pattern: `[0-9a-z]{1,${INSTANT_DIGITS}}`,
      encode: (r) => (of(r)?.getTime() ?? last).toString(36),
      decode: (t) => sql`${utc(parseInt(t, 36))}::timestamp`,
    };
  },
  /** A non-negative integer (serial ids, years). */
  int: <R>(column: AnyColumn | SQL, of: (r: R) => number): Key<R> => ({
    by: sql`${column}`, pattern: '[0-9a-z]{1,10}', encode: (r) => of(r).toString(36),
    decode: (t) => sql`${parseInt(t, 36)}::bigint`, value: (t) => parseInt(t, 36),
  }),
  /** An id or other text of the characters in ID_PATTERN. */
  text: <R>(column: AnyColumn, of: (r: R) => string): Key<R> => ({
    by: sql`${column}`, pattern: ID_PATTERN,
    encode: (r) => {
      const v = of(r);
      if (!new RegExp(`^${ID_PATTERN}$`).test(v)) throw new Error(`a list's sort key holds characters its cursor cannot: ${JSON.stringify(v.slice(0, 40))}`);
      return v;
    },
    decode: (t) => sql`${t}`, value: (t) => t,
  }),
  /**
   * Text of any printable ASCII (workflow ids with dots, instance ids sellers chose), as hex in the cursor: every
   * pattern-valid cursor decodes to characters from space to `~` (and DEL), never NUL, which PostgreSQL refuses.
   */
  ascii: <R>(column: AnyColumn, of: (r: R) => string, maxLength = 200): Key<R> => ({
    by: sql`${column}`, pattern: `(?:[2-7][0-9a-f]){1,${maxLength}}`,
    encode: (r) => {
      const v = of(r);
      if (!/^[\x20-\x7f]*$/.test(v) || v.length === 0 || v.length > maxLength) throw new Error(`a list's sort key is not printable ASCII of 1 to ${maxLength} characters`);
      return Buffer.from(v, 'latin1').toString('hex');
    },
    decode: (t) => sql`${Buffer.from(t, 'hex').toString('latin1')}`, value: (t) => Buffer.from(t, 'hex').toString('latin1'),
  }),
};

export interface Page<R> { rows: R[]; nextCursor: string | null }
export interface PageQuery { limit: number; cursor?: string | undefined }

/**
 * One list's order: its keys (the last one unique, usually the id) in one direction. `query` goes into the
 * route's strictObject, `read` fetches a page.
 */
export function keyset<R>(direction: 'asc' | 'desc', keys: Key<R>[]) {
  const pattern = keys.map((k) => k.pattern).join('\\.');
  const query = {
    limit: queryInt(1, MAX_LIMIT).default(DEFAULT_LIMIT).describe(`items per page, 1 to ${MAX_LIMIT}`),
    cursor: z.string().regex(new RegExp(`^${pattern}$`), 'must be the nextCursor of a page of this list').optional()
      .describe('the nextCursor of the previous page; left out, the first page'),
  };
  const orderBy = keys.map((k) => (direction === 'asc' ? asc(k.by) : desc(k.by)));
  const parts = (cursor: string) => cursor.split('.');
  /** Rows strictly after the cursor in the list's order: one row comparison, which an index on the keys serves. */
  const after = (cursor?: string): SQL | undefined => {
    if (!cursor) return undefined;
    const values = parts(cursor).map((t, i) => keys[i]!.decode(t));
    const op = direction === 'asc' ? sql`>` : sql`<`;
    return sql`(${sql.join(keys.map((k) => k.by), sql`, `)}) ${op} (${sql.join(values, sql`, `)})`;
  };
  /** Cuts a page from `limit + 1` rows (the extra one says a next page exists). */
  const cut = <T extends R>(rows: T[], limit: number): Page<T> => {
    if (rows.length <= limit) return { rows, nextCursor: null };
    const page = rows.slice(0, limit);
    const last = page[page.length - 1]!;
    return { rows: page, nextCursor: keys.map((k) => k.encode(last)).join('.') };
  };
  return {
    query,
    /** Runs the list's query for one page: `run` adds `after` to its filter and orders and limits as given. */
    async read<T extends R>(q: PageQuery, run: (p: { after: SQL | undefined; orderBy: SQL[]; limit: number }) => Promise<T[]>): Promise<Page<T>> {
      return cut(await run({ after: after(q.cursor), orderBy, limit: q.limit + 1 }), q.limit);
    },
    /** A page of a list computed in memory (a few rows, e.g. calendar years); its keys are `int` or `text`. */
    slice<T extends R>(all: T[], q: PageQuery): Page<T> {
      const tuple = (r: T) => keys.map((k) => k.value!(k.encode(r)));
      const cmp = (a: Value[], b: Value[]) => {
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i]! < b[i]! ? -1 : 1) * (direction === 'asc' ? 1 : -1);
        return 0;
      };
      const from = q.cursor ? parts(q.cursor).map((t, i) => keys[i]!.value!(t)) : undefined;
      const sorted = [...all].sort((a, b) => cmp(tuple(a), tuple(b)));
      return cut(sorted.filter((r) => !from || cmp(tuple(r), from) > 0).slice(0, q.limit + 1), q.limit);
    },
  };
}

/** The response of a paged list: `{ items, nextCursor }`. */
export const pageOf = <T extends ZodType>(item: T) => z.object({
  items: z.array(item),
  nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
});
