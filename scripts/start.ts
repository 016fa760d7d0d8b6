/**
 * `make start`: the whole system in one terminal on embedded defaults: the Temporal dev server
 * (SQLite under .data/, Web UI on 8233), the database (PGlite under .data/ unless DATABASE_URL is
 * set), the worker and the REST API. Ctrl-C stops everything; the data stays for the next run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { newMasterKey } from '../domain/secret-box';
import { run } from '../main';
import { startReferenceSeller } from '../seller/server';
import { createDemoData, type DemoData } from './demo-data';
import { startDevServer } from './dev-server';

const DATA = '.data';
const KEYS_FILE = `${DATA}/demo-keys.json`;

mkdirSync(DATA, { recursive: true });
// The master key that encrypts sellers' access keys: made once for this data directory, unless given.
if (!process.env.MASTER_KEY) {
  if (!existsSync(`${DATA}/master.key`)) writeFileSync(`${DATA}/master.key`, newMasterKey(), { mode: 0o600 });
  process.env.MASTER_KEY = readFileSync(`${DATA}/master.key`, 'utf8').trim();
}
const SELLER_PORT = Number(process.env.DEMO_SELLER_PORT ?? 4000);
const sellerUrl = `http://127.0.0.1:${SELLER_PORT}/saasproduce`;

let config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) { console.error(e.message); process.exit(2); }
  throw e;
}

const [host, port] = config.TEMPORAL_ADDRESS.split(':');
const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
const temporal = host === '127.0.0.1' || host === 'localhost'
  ? startDevServer({ dbFile: `${DATA}/temporal.sqlite`, port: Number(port), uiPort, log: (l) => { if (!stopping && /level=(ERROR|FATAL)/.test(l)) console.error(`[temporal] ${l}`); } })
  : undefined;
temporal?.on('exit', (code) => { if (!stopping) { console.error(`Temporal dev server exited (${code})`); process.exit(1); } });

/**
 * Demo data is created once and its keys kept in .data/ in clear, for local use only: the database
 * holds only their hashes, so this file is the one place a developer can read them back from.
 */
async function demoData(): Promise<DemoData> {
  if (existsSync(KEYS_FILE)) return JSON.parse(readFileSync(KEYS_FILE, 'utf8'));
  const database = await openDatabase({ url: config!.DATABASE_URL, pgliteDir: config!.PGLITE_DIR });
  try {
    const demo = await createDemoData(database.db, { masterKey: config!.MASTER_KEY!, sellerUrl });
    writeFileSync(KEYS_FILE, JSON.stringify(demo, null, 2), { mode: 0o600 });
    return demo;
  } finally {
    await database.close();
  }
}

let stopping = false;
const keys = await demoData();
const seller = await startReferenceSeller({
  accessKey: keys.sellerAccessKey, port: SELLER_PORT,
  // As a careful seller, it confirms every new order line with Query Order on our API before provisioning.
  queryOrder: { baseUrl: `http://127.0.0.1:${config.PORT}`, keyId: keys.productId },
});
const app = await run(config);
console.log(`
  Marketplace is running.
    REST API        http://${config.HOST}:${config.PORT}   (OpenAPI: /openapi.json, docs: /docs)
    Temporal Web UI http://localhost:${uiPort}
    Database        ${config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.PGLITE_DIR}`}

    Reference seller ${seller.url}   (the demo SaaS product's production interface)

    Demo operator key: ${keys.operator}
    Demo buyer key:    ${keys.buyer}   (balance 1000.00)
    Demo seller key:   ${keys.seller}
    Demo SaaS product: ${keys.productId}, SKU ${keys.skuId}
  (keys are kept in ${KEYS_FILE}; Ctrl-C stops everything, data stays in ${DATA}/)
`);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, async () => {
    stopping = true;
    console.log('\nstopping…');
    await app.stop().catch((e) => console.error(e));
    await seller.close();
    temporal?.kill('SIGTERM');
    await new Promise((r) => (temporal && temporal.exitCode === null ? temporal.once('exit', r) : r(undefined)));
    process.exit(0);
  });
}
