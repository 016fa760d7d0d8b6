import { fileURLToPath } from 'node:url';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import * as schema from './schema';

/** One typed handle over PostgreSQL (`pg`) and embedded PGlite. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));
// Any constant works; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK = 7_233_001;

export async function openDatabase(opts: { url?: string; pgliteDir?: string; poolSize?: number }): Promise<Database> {
  if (opts.url) {
    // A database that does not answer fails a request in seconds (the API answers 503) instead of holding it.
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, connectionTimeoutMillis: 5_000 });
    // An idle client that loses its server must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    // Nor may a client that is checked out when the server goes (between two statements of a transaction):
    // without a listener its 'error' event ends the process. Its statement fails, and the pool drops it.
    pool.on('connect', (c) => { c.on('error', () => undefined); });
    const db = drizzlePg(pool, { schema }) as unknown as Db;
    // API and worker may start together: the advisory lock makes the second wait, then find nothing to do.
    const client = await pool.connect().catch(async (e: unknown) => { await pool.end(); throw e; });
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await migratePg(drizzlePg(client, { schema }), { migrationsFolder });
    } catch (e) {
      client.release(true);
      await pool.end();
      throw e;
    }
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
    return { db, kind: 'postgres', close: () => pool.end() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const dir = opts.pgliteDir ?? '.data/pglite';
  const release = dir === 'memory://' ? () => undefined : lockDirectory(dir);
  const client = await PGlite.create(dir);
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder });
  return { db: db as unknown as Db, kind: 'pglite', close: async () => { await client.close(); release(); } };
}

/** PGlite has one owner at a time: a second process opening the same files would corrupt them. */
function lockDirectory(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lock = `${dir}.lock`;
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    const pid = Number(readFileSync(lock, 'utf8'));
    let alive = false;
    try { alive = pid > 0 && pid !== process.pid && process.kill(pid, 0); } catch { alive = false; }
    if (alive) throw new Error(`the embedded database ${dir} is in use by process ${pid}; stop it first, or set DATABASE_URL`);
    writeFileSync(lock, String(process.pid));
  }
  return () => rmSync(lock, { force: true });
}
