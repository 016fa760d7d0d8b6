import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { adapterFor, localEnv, PortPlan, type Adapter, type LocalContext } from '../../scripts/cluster/local';
import { readTopology, startOrder } from '../../scripts/cluster/topology';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

/** `make cluster` runs what docker-compose.yml describes: these hold the runner to the file. */
const { services } = readTopology();

function context(): LocalContext {
  const ctx: LocalContext = { services, ports: new PortPlan(services, 'auto'), dataDir: '/tmp/unused', skipped: new Set(), appEnv: {} };
  for (const s of Object.values(services)) if (typeof adapterFor(ctx, s) === 'string') ctx.skipped.add(s.name);
  return ctx;
}
const adapter = (ctx: LocalContext, name: string) => adapterFor(ctx, services[name]!) as Adapter;

describe('the cluster reads docker-compose.yml', () => {
  it('runs every service locally except the mail catcher, in dependency order', () => {
    const ctx = context();
    expect([...ctx.skipped]).toEqual(['mailpit']);
    const order = startOrder(services).map((s) => s.name);
    const before = (a: string, b: string) => expect(order.indexOf(a), `${a} before ${b}`).toBeLessThan(order.indexOf(b));
    before('postgres', 'temporal-schema');
    before('temporal-schema', 'temporal');
    before('temporal', 'temporal-setup');
    before('temporal-setup', 'api');
    before('temporal-setup', 'worker');
    expect(services.api!.replicas).toBe(2);
    expect(services.worker!.replicas).toBe(2);
    expect(services['temporal-setup']!.oneShot).toBe(true);
  });

  it('points the app at the local PostgreSQL and Temporal ports, and leaves out the mail catcher', async () => {
    const ctx = context();
    const { env, dropped } = await localEnv(ctx, services.api!);
    const pg = await ctx.ports.port('postgres', 0, 5432);
    const temporal = await ctx.ports.port('temporal', 0, 7233);
    expect(env.DATABASE_URL).toBe(`postgres://marketplace:marketplace@127.0.0.1:${pg}/marketplace`);
    expect(env.TEMPORAL_ADDRESS).toBe(`127.0.0.1:${temporal}`);
    expect(dropped).toEqual(['SMTP_URL']);
    expect(() => loadConfig(env)).not.toThrow();

    // Temporal's images name the database host and its port apart.
    const server = await localEnv(ctx, services.temporal!);
    expect(server.env).toMatchObject({ POSTGRES_SEEDS: '127.0.0.1', DB_PORT: String(pg) });
    // A bind-mounted file is the repository's.
    expect(server.env.DYNAMIC_CONFIG_FILE_PATH).toMatch(/\/deploy\/temporal\/dynamicconfig\.yaml$/);
  });

  it('gives each API replica its own loopback port, and the seller the first API', async () => {
    const ctx = context();
    const [a, b] = await Promise.all([adapter(ctx, 'api').instance(0), adapter(ctx, 'api').instance(1)]);
    expect(a.env.HOST).toBe('127.0.0.1');
    expect(a.env.PORT).not.toBe(b.env.PORT);
    expect(a.argv.slice(-1)).toEqual(['main.ts']);
    const seller = await adapter(ctx, 'seller').instance(0);
    expect(seller.env.SELLER_MARKETPLACE_URL).toBe(`http://127.0.0.1:${a.env.PORT}`);
    const demo = await localEnv(ctx, services['demo-data']!);
    expect(demo.env.DEMO_SELLER_URL).toBe(`http://127.0.0.1:${seller.env.SELLER_PORT}/saasproduce`);
  });

  it('keeps the published ports by default, moved by an override', async () => {
    const plan = new PortPlan(services, 'compose', { seller: 4151 });
    expect(await plan.port('api', 0, 3000)).toBe(3000);
    expect(await plan.port('api', 1, 3000)).toBe(3001);
    expect(await plan.port('temporal-ui', 0, 8080)).toBe(8233);
    expect(await plan.port('seller', 0, 4000)).toBe(4151);
  });

  it('refuses host interpolation, which only Docker would do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    const file = join(dir, 'docker-compose.yml');
    writeFileSync(file, 'services:\n  x:\n    image: busybox:1\n    environment:\n      A: ${HOME}\n');
    expect(() => readTopology(file)).toThrow(/interpolation/);
    writeFileSync(file, 'services:\n  x:\n    image: busybox:1\n    command: ["sh", "-c", "echo $$HOME"]\n');
    expect(readTopology(file).services.x!.argv).toEqual(['sh', '-c', 'echo $HOME']);
  });

  it('fits our search attributes into the slots of Temporal\'s SQL visibility store', () => {
    // schema/postgresql/v12/visibility/schema.sql: 10 Keyword columns, 3 of every other type.
    const slots: Record<string, number> = { KEYWORD: 10, TEXT: 3, INT: 3, DOUBLE: 3, BOOL: 3, DATETIME: 3, KEYWORD_LIST: 3 };
    const used: Record<string, number> = {};
    for (const a of ALL_SEARCH_ATTRIBUTES) used[a.type] = (used[a.type] ?? 0) + 1;
    for (const [type, n] of Object.entries(used)) expect(n, `${type} search attributes`).toBeLessThanOrEqual(slots[type] ?? 0);
  });
});
