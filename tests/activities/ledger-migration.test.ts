import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../db/client';
import { balanceOf } from '../../db/ledger';
import { ledgerTransactions } from '../../db/schema';
import { MARKETPLACE } from '../../domain/ledger';
import { TEST_DATABASE_URL } from '../support/db';
import { expectLedgerBalanced } from '../support/ledger';

const MIGRATIONS = fileURLToPath(new URL('../../db/migrations', import.meta.url));
/** The last migration before the double-entry ledger. */
const BEFORE_LEDGER = '0007_order_line_intake';

const name = `t_${randomBytes(6).toString('hex')}`;
const url = new URL(TEST_DATABASE_URL);
url.pathname = `/${name}`;
let database: Database | undefined;
const admin = async (q: string) => { const c = new pg.Client({ connectionString: TEST_DATABASE_URL }); await c.connect(); await c.query(q); await c.end(); };
afterAll(async () => { await database?.close(); await admin(`drop database if exists ${name} with (force)`); });

/** Migrates a new database up to `BEFORE_LEDGER` only, from a copy of the migrations whose journal stops there. */
async function databaseBeforeLedger() {
  await admin(`create database ${name}`);
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  try {
    cpSync(MIGRATIONS, dir, { recursive: true });
    const journal = JSON.parse(readFileSync(join(dir, 'meta/_journal.json'), 'utf8'));
    const stop = journal.entries.findIndex((e: { tag: string }) => e.tag === BEFORE_LEDGER);
    journal.entries = journal.entries.slice(0, stop + 1);
    writeFileSync(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    await migrate(drizzle(pool), { migrationsFolder: dir });
    return pool;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('moving the single-entry ledger and balances onto the double-entry ledger', () => {
  it('keeps every balance, charges per line, settles delivered lines, keeps refunds, and balances', async () => {
    const pool = await databaseBeforeLedger();
    await pool.query(`
      insert into principals (id, role, name) values ('PA', 'buyer', 'A'), ('PB', 'buyer', 'B'), ('PO', 'buyer', 'Owner');
      insert into merchants (id, owner_principal_id, status, profile, onboarding_application_id) values ('M1', 'PO', 'active', '{}', 'MA1');
      insert into products (id, merchant_id, name, delivery_type, status) values ('PR1', 'M1', 'CRM', 'saas', 'on_sale');
      insert into skus (id, product_id, name, charging_mode, periods, price_cents) values ('SK1', 'PR1', 'month', 'monthly', 1, 9900);
      insert into orders (id, buyer_principal_id, status, total_cents) values ('CSO1', 'PA', 'processing', 10000), ('CSO2', 'PA', 'processing', 500);
      insert into order_lines (id, order_id, product_id, sku_id, merchant_id, status, price_cents, instance_id) values
        ('CSO1-000001', 'CSO1', 'PR1', 'SK1', 'M1', 'delivered', 9900, 'I1'),
        ('CSO1-000002', 'CSO1', 'PR1', 'SK1', 'M1', 'failed', 100, null),
        ('CSO2-000001', 'CSO2', 'PR1', 'SK1', 'M1', 'processing', 500, null);
      -- A topped up 20000 (top-ups wrote no rows), then ordered twice and got one line refunded; B only topped up.
      insert into ledger (principal_id, dedupe_key, amount_cents, reason, order_id) values
        ('PA', 'charge:CSO1', -10000, 'order', 'CSO1'), ('PA', 'refund:CSO1-000002', 100, 'refund (failed): x', 'CSO1'), ('PA', 'charge:CSO2', -500, 'order', 'CSO2');
      insert into accounts (principal_id, balance_cents) values ('PA', 9600), ('PB', 300);
    `);
    await pool.end();

    database = await openDatabase({ url: url.toString(), poolSize: 2 });
    const { db } = database;
    expect(await balanceOf(db, 'PA')).toBe(9600);
    expect(await balanceOf(db, 'PB')).toBe(300);
    const txns = await db.select().from(ledgerTransactions).orderBy(ledgerTransactions.id);
    expect(txns.map((t) => `${t.key} ${t.kind} ${t.grossCents}`)).toEqual([
      'opening:PA top_up 20000', 'opening:PB top_up 300',
      'charge:CSO1-000001 charge 9900', 'charge:CSO1-000002 charge 100', 'refund:CSO1-000002 refund 100', 'charge:CSO2-000001 charge 500',
      'settle:CSO1-000001 settlement 9900',
    ]);
    expect(txns.find((t) => t.key === 'settle:CSO1-000001')).toMatchObject({ commissionCents: 990, merchantId: 'M1', chargeId: txns.find((t) => t.key === 'charge:CSO1-000001')!.id });
    const total = async (account: string) => Number(((await db.execute(sql`select coalesce(sum(amount_cents), 0) as t from ledger_entries where account_id = ${account}`)) as unknown as { rows: { t: string }[] }).rows[0]!.t);
    // Only the processing line's money is still held.
    expect(await total(MARKETPLACE.clearing)).toBe(500);
    expect(await total('seller:M1')).toBe(8910);
    expect(await total(MARKETPLACE.commission)).toBe(990);
    await expectLedgerBalanced(db);
    const old = await db.execute(sql`select to_regclass('public.accounts') as a, to_regclass('public.ledger') as l`) as unknown as { rows: { a: string | null; l: string | null }[] };
    expect(old.rows[0]).toEqual({ a: null, l: null });
    expect((await db.select().from(ledgerTransactions).where(eq(ledgerTransactions.kind, 'refund')))[0]!.memo).toBe('refund (failed): x');
  });
});
