/**
 * `make start`: the whole system in one terminal on embedded defaults: the Temporal dev server
 * (SQLite under .data/, Web UI on 8233), the database (PGlite under .data/ unless DATABASE_URL is
 * set), the worker, the REST API and the reference seller. It runs as the foreground process (the
 * Makefile execs it): Ctrl-C, or SIGINT/SIGTERM to its process group, or `make stop` stops everything;
 * the data stays for the next run. With DEMO_FAST=1 the long durations become minutes (not for production).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { newMasterKey } from '../domain/secret-box';
import { run } from '../main';
import { startReferenceSeller } from '../seller/server';
import { createDemoData, pointDemoProductAt, type DemoData } from './demo-data';
import { startDevServer } from './dev-server';
import { dataDir, MARKETPLACE_CMDLINE, ours, pidFile, stopRunningSystem, type RunningSystem } from './stop';

const DATA = dataDir();
const KEYS_FILE = `${DATA}/demo-keys.json`;
process.env.PGLITE_DIR ||= `${DATA}/pglite`;

mkdirSync(DATA, { recursive: true });
// One readable line per event in a terminal; LOG_FORMAT=json still gives JSON lines.
process.env.LOG_FORMAT ||= 'pretty';
// The master key that encrypts sellers' access keys: made once for this data directory, unless given.
if (!process.env.MASTER_KEY) {
  if (!existsSync(`${DATA}/master.key`)) writeFileSync(`${DATA}/master.key`, newMasterKey(), { mode: 0o600 });
  process.env.MASTER_KEY = readFileSync(`${DATA}/master.key`, 'utf8').trim();
}

// The reference seller is http://127.0.0.1:4000: allowed here, refused in production (seller-client/address-guard.ts).
process.env.SELLER_ALLOW_HTTP ||= 'true';
process.env.SELLER_ALLOW_PRIVATE ||= 'true';

let config;
let sellerPort: number;
let uiPort: number;
try {
  config = loadConfig();
  sellerPort = port('DEMO_SELLER_PORT', 4000);
  uiPort = port('TEMPORAL_UI_PORT', 8233);
} catch (e) {
  if (e instanceof ConfigError) { console.error(e.message); process.exit(2); }
  throw e;
}
const sellerUrl = `http://127.0.0.1:${sellerPort}/saasproduce`;
const apiUrl = `http://127.0.0.1:${config.PORT}`;

// A `make start` killed with SIGKILL leaves its dev server running, holding the port and the SQLite file: end what
// the last run of this checkout left behind, unless that run is still alive.
if (existsSync(pidFile())) {
  const last = JSON.parse(readFileSync(pidFile(), 'utf8')) as RunningSystem;
  if (ours(last.pid, MARKETPLACE_CMDLINE)) {
    console.error(`make start already runs from this checkout (pid ${last.pid}); \`make stop\` ends it`);
    process.exit(1);
  }
  await stopRunningSystem();
}

let stopping = false;
const [host, temporalPort] = config.TEMPORAL_ADDRESS.split(':');
const temporal = host === '127.0.0.1' || host === 'localhost'
  ? startDevServer({ dbFile: `${DATA}/temporal.sqlite`, port: Number(temporalPort), uiPort, log: (l) => { if (!stopping && /level=(ERROR|FATAL)/.test(l)) console.error(`[temporal] ${l}`); } })
  : undefined;
temporal?.on('exit', (code) => {
  if (stopping) return;
  console.error(`The Temporal dev server exited (${code}). Is port ${temporalPort} or ${uiPort} taken, perhaps by an earlier \`make start\` (\`make stop\` ends it)?`);
  process.exit(1);
});
const running: RunningSystem = { pid: process.pid, ...(temporal?.pid ? { temporalPid: temporal.pid } : {}), apiUrl };
writeFileSync(pidFile(), JSON.stringify(running));

/**
 * Demo data is created once and its keys kept in .data/ in clear, for local use only: the database
 * holds only their hashes, so this file is the one place a developer can read them back from. The demo
 * product follows the reference seller to the port of this run.
 */
async function demoData(): Promise<DemoData> {
  const database = await openDatabase({ url: config!.DATABASE_URL, pgliteDir: config!.PGLITE_DIR });
  try {
    if (existsSync(KEYS_FILE)) {
      const demo = JSON.parse(readFileSync(KEYS_FILE, 'utf8')) as DemoData;
      await pointDemoProductAt(database.db, demo.productId, sellerUrl);
      return demo;
    }
    const demo = await createDemoData(database.db, { masterKey: config!.MASTER_KEY!, sellerUrl });
    writeFileSync(KEYS_FILE, JSON.stringify(demo, null, 2), { mode: 0o600 });
    return demo;
  } finally {
    await database.close();
  }
}

const keys = await demoData();
const seller = await startReferenceSeller({
  accessKey: keys.sellerAccessKey, port: sellerPort, admin: true,
  // As a careful seller, it confirms every new order line with Query Order on our API before provisioning.
  queryOrder: { baseUrl: apiUrl, keyId: keys.productId },
});
const app = await run(config);

/** The buyer's balance as the API reports it now, or nothing when it cannot be read. */
async function buyerBalance(): Promise<string> {
  try {
    const res = await fetch(`${apiUrl}/v1/account`, { headers: { authorization: `Bearer ${keys.buyer}` }, signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as { balanceCents?: unknown };
    return res.ok && typeof body.balanceCents === 'number' ? `   (balance ${(body.balanceCents / 100).toFixed(2)})` : '';
  } catch {
    return '';
  }
}

console.log(`
  Marketplace is running.
    REST API        http://${config.HOST}:${config.PORT}   (OpenAPI: /openapi.json, docs: /docs)
    Temporal Web UI http://localhost:${uiPort}
    Database        ${config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.PGLITE_DIR}`}

    Reference seller ${seller.url}   (the demo SaaS product's production interface)
                     its faults switch at run time: npm run seller:faults -- --help   (docs/demo.md)
${config.DEMO_FAST ? `
    DEMO_FAST: a review's working day lasts ${config.DEMO_WORKING_DAY_SECONDS} s, provisioning retries every ${config.PROVISION_RETRY_INTERVAL_MS / 1000} s for ${config.PROVISION_RETRY_WINDOW_MS / 60_000} min.
               For trying things only: never run production like this.
` : ''}
    Demo operator key: ${keys.operator}
    Demo buyer key:    ${keys.buyer}${await buyerBalance()}
    Demo seller key:   ${keys.seller}
    Demo SaaS product: ${keys.productId}, SKU ${keys.skuId}
  (keys are kept in ${KEYS_FILE}; Ctrl-C or \`make stop\` stops everything, data stays in ${DATA}/)
`);

async function stop() {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await app.stop().catch((e: unknown) => console.error(`while stopping: ${(e as Error).message}`));
  await seller.close();
  if (temporal && temporal.exitCode === null && temporal.signalCode === null) {
    const exited = new Promise((r) => temporal.once('exit', r));
    temporal.kill('SIGTERM');
    await exited;
  }
  rmSync(pidFile(), { force: true });
  console.log('stopped.');
  process.exit(0);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop());

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new ConfigError([`${name}: must be a port number`]);
  return Number(raw);
}
