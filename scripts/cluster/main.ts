/**
 * `make cluster [ARGS="--scale worker=3"]`: the production topology of docker-compose.yml as separate
 * processes on this machine, without Docker (scripts/cluster/index.ts). Ctrl-C stops everything;
 * data stays in .data/cluster/ (and PostgreSQL's files, see the README) for the next run.
 *
 * Host ports are compose's published ones; on a shared machine move them with PORT (first API; the
 * second is PORT+1), TEMPORAL_ADDRESS (its port is the frontend's), TEMPORAL_UI_PORT and
 * DEMO_SELLER_PORT, or take free ones with CLUSTER_PORTS=auto.
 */
import { parseArgs } from 'node:util';
import { startCluster } from './index';

const { values } = parseArgs({ options: { scale: { type: 'string', multiple: true, default: [] }, 'data-dir': { type: 'string', default: '.data/cluster' } } });
const scale: Record<string, number> = {};
for (const s of values.scale) {
  const m = /^([a-z0-9_-]+)=(\d+)$/.exec(s);
  if (!m || Number(m[2]) < 1) { console.error(`--scale ${s}: expected SERVICE=N with N >= 1`); process.exit(2); }
  scale[m[1]!] = Number(m[2]);
}
const env = process.env;
const num = (name: string, v: string | undefined) => {
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) { console.error(`${name}=${v}: not a port`); process.exit(2); }
  return Number(v);
};
const overrides = Object.fromEntries(Object.entries({
  api: num('PORT', env.PORT),
  temporal: num('TEMPORAL_ADDRESS', env.TEMPORAL_ADDRESS?.split(':')[1]),
  'temporal-ui': num('TEMPORAL_UI_PORT', env.TEMPORAL_UI_PORT),
  seller: num('DEMO_SELLER_PORT', env.DEMO_SELLER_PORT),
}).filter(([, v]) => v !== undefined)) as Record<string, number>;

const started = Date.now();
const cluster = await startCluster({ dataDir: values['data-dir'], ports: env.CLUSTER_PORTS === 'auto' ? 'auto' : 'compose', portOverrides: overrides, scale }).catch((e: unknown) => {
  console.error(`the cluster did not start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
const keys = cluster.demoKeys;
const line = (p: { name: string; pid?: number | undefined }) => `${p.name} (pid ${p.pid})`;
console.log(`
  The cluster is running (${((Date.now() - started) / 1000).toFixed(0)} s to start); logs in ${values['data-dir']}/logs/.
    REST API         ${cluster.urls.api.join('  ')}   (OpenAPI: /openapi.json, docs: /docs)
    Temporal         ${cluster.urls.temporal}   (frontend gRPC; temporal CLI: --address ${cluster.urls.temporal})
    Temporal Web UI  ${cluster.urls.ui ?? '(not run)'}
    Reference seller ${cluster.urls.seller ?? '(not run)'}
    PostgreSQL       ${cluster.urls.databaseUrl}
    Processes        ${[...cluster.procs.values()].filter((p) => p.running).map(line).join(', ')}
${Object.entries(cluster.skipped).map(([n, why]) => `    Not run          ${n}: ${why}\n`).join('')}
    Demo operator key: ${keys?.operator ?? '(made on the first run; see demo-keys.json)'}
    Demo buyer key:    ${keys?.buyer ?? ''}
    Demo seller key:   ${keys?.seller ?? ''}
    Demo SaaS product: ${keys ? `${keys.productId}, SKU ${keys.skuId}` : ''}
  (keys are kept in ${values['data-dir']}/demo-keys.json; Ctrl-C stops everything)
`);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.log('\nstopping the cluster…');
    cluster.stop().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
  });
}
