import { getTableColumns, is, SQL, sql, type InferInsertModel } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from './client';

/**
 * `insert into t select <values> where not exists (<guard>)`: writes the row only when the guard
 * query finds nothing, atomically and in one round trip (a transaction with a check first costs
 * four). Chain `.onConflictDoNothing()` / `.returning()` as on any insert; no row back means the
 * guard or the conflict stopped it.
 */
export function insertUnless<T extends PgTable>(db: Db, table: T, values: InferInsertModel<T>, guard: SQL) {
  const given = values as Record<string, unknown>;
  // Every column, in the table's order, as drizzle lists them in the insert (no generated columns here).
  const list = Object.entries(getTableColumns(table)).map(([key, col]) => {
    const value = given[key];
    // Casts, because a parameter in a select list has no type of its own for PostgreSQL to infer.
    const cast = sql.raw(col.getSQLType());
    if (value !== undefined) return sql`${sql.param(value, col)}::${cast}`;
    if (col.defaultFn) return sql`${sql.param(col.defaultFn(), col)}::${cast}`;
    if (col.default !== undefined) return is(col.default, SQL) ? col.default : sql`${sql.param(col.default, col)}::${cast}`;
    return sql`null::${cast}`;
  });
  return db.insert(table).select(sql`select ${sql.join(list, sql`, `)} where not exists (${guard})`);
}
