/**
 * `make start`: the whole system in one terminal on embedded defaults: the Temporal dev server
 * (SQLite under .data/, Web UI on 8233), the database (PGlite under .data/ unless DATABASE_URL is
 * set), the worker and the REST API. Ctrl-C stops everything; the data stays for the next run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { createPrincipal, issueApiKey } from '../api/auth';
import { run } from '../main';
import { startDevServer } from './dev-server';

const DATA = '.data';
const KEYS_FILE = `${DATA}/demo-keys.json`;

let config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) { console.error(e.message); process.exit(2); }
  throw e;
}
mkdirSync(DATA, { recursive: true });

const [host, port] = config.TEMPORAL_ADDRESS.split(':');
const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
const temporal = host === '127.0.0.1' || host === 'localhost'
  ? startDevServer({ dbFile: `${DATA}/temporal.sqlite`, port: Number(port), uiPort, log: (l) => { if (!stopping && /level=(ERROR|FATAL)/.test(l)) console.error(`[temporal] ${l}`); } })
  : undefined;
temporal?.on('exit', (code) => { if (!stopping) { console.error(`Temporal dev server exited (${code})`); process.exit(1); } });

/**
 * Demo keys are created once and kept in .data/ in clear, for local use only: the database holds
 * only their hashes, so this file is the one place a developer can read them back from.
 */
async function demoKeys(): Promise<{ operator: string; buyer: string }> {
  if (existsSync(KEYS_FILE)) return JSON.parse(readFileSync(KEYS_FILE, 'utf8'));
  const database = await openDatabase({ url: config!.DATABASE_URL, pgliteDir: config!.PGLITE_DIR });
  try {
    const operatorId = await createPrincipal(database.db, { role: 'operator', name: 'Demo operator (supervisor)', email: 'ops-supervisor@marketplace.local', supervisor: true });
    const buyerId = await createPrincipal(database.db, { role: 'buyer', name: 'Demo buyer', email: 'buyer@example.com' });
    const keys = { operator: await issueApiKey(database.db, operatorId, 'demo'), buyer: await issueApiKey(database.db, buyerId, 'demo') };
    writeFileSync(KEYS_FILE, JSON.stringify(keys, null, 2), { mode: 0o600 });
    return keys;
  } finally {
    await database.close();
  }
}

let stopping = false;
const keys = await demoKeys();
const app = await run(config);
console.log(`
  Marketplace is running.
    REST API        http://${config.HOST}:${config.PORT}   (OpenAPI: /openapi.json, docs: /docs)
    Temporal Web UI http://localhost:${uiPort}
    Database        ${config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.PGLITE_DIR}`}

    Demo operator key: ${keys.operator}
    Demo buyer key:    ${keys.buyer}
  (keys are kept in ${KEYS_FILE}; Ctrl-C stops everything, data stays in ${DATA}/)
`);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, async () => {
    stopping = true;
    console.log('\nstopping…');
    await app.stop().catch((e) => console.error(e));
    temporal?.kill('SIGTERM');
    await new Promise((r) => (temporal && temporal.exitCode === null ? temporal.once('exit', r) : r(undefined)));
    process.exit(0);
  });
}
