import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { parseDocument } from 'yaml';
import { CONFIG_KEYS, loadConfig } from '../../config';
import { DEMO_PRODUCT_ID } from '../../scripts/demo-data';
import { searchAttributeArgs } from '../../workflows/search-attributes';

/**
 * docker-compose.yml is the one description of the production topology: Docker runs it, and so does
 * `make cluster` (scripts/cluster/, tested in cluster-topology.test.ts and by the chaos test). These
 * checks keep it in step with the code: the services the app expects, env names the config schema
 * knows, the search attributes the workflows use, one Temporal version, and the published ports.
 */
const composePath = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const text = readFileSync(composePath, 'utf8');
// merge: compose resolves YAML `<<:` merge keys, and the file uses them for the shared app settings.
const doc = parseDocument(text, { merge: true });

type Service = {
  environment?: Record<string, unknown> | string[];
  ports?: Array<string | number | { published?: string | number; target?: string | number }>;
  entrypoint?: string | string[];
  command?: string | string[];
};
const compose = (doc.toJS() ?? {}) as { services?: Record<string, Service> };
const services = compose.services ?? {};

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

/** `environment:` as a map; compose also allows the list form `- NAME=value`. */
function envOf(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => {
      const i = e.indexOf('=');
      return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

/** Published host port -> container port, from short (`[ip:]host:container[/proto]`) or long syntax. */
function portsOf(name: string): Array<{ published: string; target: string }> {
  return (service(name).ports ?? []).map((p) => {
    if (typeof p === 'object') return { published: String(p.published ?? ''), target: String(p.target ?? '') };
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    const target = parts[parts.length - 1] ?? '';
    // A bare container port (`- "3000"`) publishes nothing fixed.
    const published = parts.length >= 2 ? parts[parts.length - 2] ?? '' : '';
    return { published, target };
  });
}

describe('docker-compose.yml', () => {
  it('is valid YAML with a services map', () => {
    expect(doc.errors.map((e) => e.message)).toEqual([]);
    expect(doc.warnings.map((e) => e.message)).toEqual([]);
    expect(typeof compose.services).toBe('object');
    expect(compose.services).not.toBeNull();
  });

  it('has every service the code expects', () => {
    const names = Object.keys(services);
    for (const name of ['postgres', 'temporal-schema', 'temporal', 'temporal-setup', 'temporal-ui', 'api', 'worker', 'seller', 'demo-data']) {
      expect(names, `service ${name}`).toContain(name);
    }
  });

  it.each(['api', 'worker'])('%s gets DATABASE_URL and TEMPORAL_ADDRESS, and only config keys', (name) => {
    const env = envOf(name);
    expect(env.DATABASE_URL, 'DATABASE_URL').toMatch(/^postgres(ql)?:\/\/.+@postgres:5432\//);
    expect(env.TEMPORAL_ADDRESS, 'TEMPORAL_ADDRESS').toBe('temporal:7233');
    const unknown = Object.keys(env).filter((k) => !CONFIG_KEYS.includes(k));
    expect(unknown, 'variables config.ts does not read').toEqual([]);
    // The values must also pass the schema, or the process would stop at start-up with a ConfigError.
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('runs the API and the worker as separate processes', () => {
    const api = loadConfig(envOf('api'));
    const worker = loadConfig(envOf('worker'));
    expect({ api: [api.RUN_API, api.RUN_WORKER], worker: [worker.RUN_API, worker.RUN_WORKER] })
      .toEqual({ api: [true, false], worker: [false, true] });
    // Inside a container the API must listen beyond loopback, or the published port reaches nothing.
    expect(api.HOST).toBe('0.0.0.0');
  });

  it('registers exactly the search attributes the workflows use, in namespace default', () => {
    const args = searchAttributeArgs();
    const expected = args.filter((_, i) => i % 2 === 1).sort(); // ['Name=Type', ...]
    expect(expected.length).toBeGreaterThan(0);

    const setup = service('temporal-setup');
    const script = [setup.entrypoint ?? [], setup.command ?? []].flat().join('\n');
    const calls = [...script.matchAll(/temporal operator search-attribute create\b([^\n]*)/g)].map((m) => m[1] ?? '');
    const flag = (call: string, f: string) => call.match(new RegExp(`--${f}[ =](\\S+)`))?.[1];
    const registered = calls.map((c) => `${flag(c, 'name')}=${flag(c, 'type')}`).sort();

    expect(registered).toEqual(expected);
    for (const c of calls) expect(flag(c, 'namespace'), c).toBe('default');
    expect(script).toMatch(/temporal operator namespace create --namespace default\b/);
    // The CLI reads its server address from TEMPORAL_ADDRESS.
    expect(envOf('temporal-setup').TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('stays within the custom search attributes SQL visibility has columns for (Keyword 10, every other type 3)', () => {
    // PostgreSQL visibility stores custom attributes in fixed columns (Keyword01-10, Datetime01-03, ...):
    // one more of a type and temporal-setup's create fails on the cluster, though the dev server takes it.
    const perType = new Map<string, number>();
    for (const t of searchAttributeArgs().filter((_, i) => i % 2 === 1).map((a) => a.split('=')[1]!)) perType.set(t, (perType.get(t) ?? 0) + 1);
    for (const [type, n] of perType) expect(n, type).toBeLessThanOrEqual(type === 'Keyword' ? 10 : 3);
  });

  it('runs one Temporal version: server and admin tools from the same release', () => {
    const tag = (name: string) => String((services[name] as { image?: string }).image).split(':')[1];
    expect(tag('temporal')).toMatch(/^\d+\.\d+\.\d+$/);
    for (const name of ['temporal-schema', 'temporal-setup']) expect(tag(name), name).toBe(tag('temporal'));
  });

  it('gives Temporal its database in the variables of its images, and sets the schema up with its own tool', () => {
    const env = envOf('temporal');
    expect(env).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres', DB_PORT: '5432' });
    expect(envOf('temporal-schema')).toMatchObject({ DB: env.DB, POSTGRES_SEEDS: env.POSTGRES_SEEDS, POSTGRES_USER: env.POSTGRES_USER, POSTGRES_PWD: env.POSTGRES_PWD });
    const script = [service('temporal-schema').command ?? []].flat().join('\n');
    expect(script).toContain('temporal-sql-tool');
    expect(script).toMatch(/update-schema --schema-name/);
  });

  it('lets the reference seller and the demo data agree on the demo product and its key', () => {
    const seller = envOf('seller');
    const demo = envOf('demo-data');
    expect(seller.SELLER_ACCESS_KEY).toBe(demo.SELLER_ACCESS_KEY);
    expect(seller.SELLER_KEY_ID).toBe(DEMO_PRODUCT_ID);
    expect(demo.DEMO_SELLER_URL).toBe(`http://seller:${seller.SELLER_PORT}/saasproduce`);
    expect(demo.DATABASE_URL).toBe(envOf('api').DATABASE_URL);
    expect(demo.MASTER_KEY).toBe(envOf('api').MASTER_KEY);
  });

  it('publishes the Temporal UI on 8233 and one API port per replica from 3000', () => {
    expect(portsOf('temporal-ui')).toContainEqual({ published: '8233', target: '8080' });
    const replicas = (services.api as { deploy?: { replicas?: number } }).deploy?.replicas;
    expect(replicas).toBe(2);
    expect(portsOf('api')).toContainEqual({ published: '3000-3001', target: '3000' });
  });
});
