/**
 * How each image of docker-compose.yml runs as a local process: the same software, built or installed
 * on this machine, fed the same environment with container addresses (`postgres:5432`, `temporal:7233`)
 * turned into loopback ports. What this file knows is only what an image would otherwise hide: where
 * its binary is, which port it listens on, how to tell that it serves.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import type { Proc, ProcSpec } from './processes';
import type { ServiceSpec } from './topology';

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, '../..');
const IS_ROOT = process.getuid?.() === 0;

/** Which loopback port stands for each container port of each replica. */
export class PortPlan {
  private taken = new Map<string, number>();
  private used = new Set<number>();
  /**
   * compose: a published port keeps its host port (first replica; the next ones count up), unless
   * `overrides` names another for that service; auto: every port is a free one (tests, chaos).
   */
  constructor(private services: Record<string, ServiceSpec>, private mode: 'compose' | 'auto', private overrides: Record<string, number> = {}) {}

  async port(service: string, replica: number, target: number): Promise<number> {
    const key = `${service}/${replica}/${target}`;
    let p = this.taken.get(key);
    if (p === undefined) {
      p = this.fixed(service, replica, target) ?? (await freePort(this.used));
      this.used.add(p);
      this.taken.set(key, p);
    }
    return p;
  }

  /** A port of the service's own, not one that stands for a container port (Temporal's internal ones). */
  async extra(service: string, what: string): Promise<number> {
    return this.port(service, 0, -Math.abs(hash(what)));
  }

  private fixed(service: string, replica: number, target: number): number | undefined {
    if (this.mode === 'auto' || target < 0) return undefined;
    const spec = this.services[service]?.ports.find((p) => p.target === target);
    const override = this.overrides[service];
    if (override !== undefined && (spec || this.services[service]?.ports.length === 0)) return override + replica;
    return spec?.published[replica] ?? (spec?.published.length === 1 ? spec.published[0]! + replica : undefined);
  }
}

const hash = (s: string) => createHash('sha1').update(s).digest().readUInt16BE(0) + 1;

/**
 * A free loopback port below 32768: Temporal keeps its services' ports in a smallint column
 * (cluster_membership), and the kernel hands out ephemeral ports from 32768 up, so a port from this
 * range is neither refused by Temporal nor taken by some outgoing connection while a process is down.
 */
export async function freePort(avoid: Set<number> = new Set()): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    if (avoid.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) { avoid.add(port); return port; }
  }
}

export interface LocalContext {
  services: Record<string, ServiceSpec>;
  ports: PortPlan;
  dataDir: string;
  /** Services with no local counterpart: variables that point at them are left out. */
  skipped: Set<string>;
  /** Extra variables for every app process (the chaos test's short retry intervals, for example). */
  appEnv: Record<string, string>;
}

/**
 * A service's environment for a local process: `service:port` becomes `127.0.0.1:<its local port>`,
 * a bare service name becomes 127.0.0.1, a bind-mounted container path becomes the repository file.
 */
export async function localEnv(ctx: LocalContext, s: ServiceSpec): Promise<{ env: Record<string, string>; dropped: string[] }> {
  const env: Record<string, string> = {};
  const dropped: string[] = [];
  const binds = Object.values(ctx.services).reduce<Record<string, string>>((all, x) => ({ ...all, ...x.binds }), {});
  // Temporal's images name the database host and its port in two variables.
  const dbHost = s.environment.POSTGRES_SEEDS;
  for (const [k, v] of Object.entries(s.environment)) {
    const refs = [...v.matchAll(/(^|[/@])([a-z0-9][a-z0-9_-]*):(\d+)(?=$|[/?#,])/g)].filter((m) => m[2]! in ctx.services);
    if (refs.some((m) => ctx.skipped.has(m[2]!)) || ctx.skipped.has(v)) { dropped.push(k); continue; }
    let out = v;
    for (const m of refs) out = out.replace(`${m[1]}${m[2]}:${m[3]}`, `${m[1]}127.0.0.1:${await ctx.ports.port(m[2]!, 0, Number(m[3]))}`);
    if (v in ctx.services) out = '127.0.0.1';
    if (v in binds) out = binds[v]!;
    if (k === 'DB_PORT' && dbHost && dbHost in ctx.services) out = String(await ctx.ports.port(dbHost, 0, Number(v)));
    env[k] = out;
  }
  return { env, dropped };
}

const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' });

async function httpAnswers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.status < 500;
}

export async function temporalServing(address: string): Promise<boolean> {
  const c = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    const r = await c.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
    return r.status === 1; // SERVING
  } finally {
    await c.close();
  }
}

export interface Adapter {
  /** Once before the first start (PostgreSQL's initdb). */
  prepare?(): Promise<void>;
  /** Once after the first readiness (PostgreSQL's application database). */
  afterReady?(): Promise<void>;
  instance(replica: number): Promise<Omit<ProcSpec, 'name' | 'logFile'>>;
  /** Files the cluster leaves outside its data directory (PostgreSQL's data as root). */
  cleanup?(): void;
}

export const temporalDir = (kind: 'server' | 'ui', tag: string) => join(ROOT, '.tools/temporal', `${kind}-${tag}`);

/** The adapter for a service, or why it has none. */
export function adapterFor(ctx: LocalContext, s: ServiceSpec): Adapter | string {
  if (s.built) return appAdapter(ctx, s);
  switch (s.image) {
    case 'postgres': return postgresAdapter(ctx, s);
    case 'temporalio/server': return temporalServerAdapter(ctx, s);
    case 'temporalio/admin-tools': return adminToolsAdapter(ctx, s);
    case 'temporalio/ui': return uiAdapter(ctx, s);
    default: return `no local counterpart of the image ${s.image}`;
  }
}

function postgresAdapter(ctx: LocalContext, s: ServiceSpec): Adapter {
  const bin = () => execFileSync('bash', [join(ROOT, 'scripts/postgres-bin.sh')], { encoding: 'utf8' }).trim();
  let binDir = '';
  // As root the server runs as the postgres user. Its files stay with the cluster's data when that user can reach
  // them (so `make clean-data` takes them too); otherwise (a checkout it may not enter) they live in its home.
  const reachable = !IS_ROOT || spawnSync('setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', 'test', '-x', ctx.dataDir]).status === 0;
  const data = reachable
    ? join(ctx.dataDir, 'postgres')
    : `/var/lib/postgresql/koogallery-cluster-${createHash('sha1').update(ctx.dataDir).digest('hex').slice(0, 12)}`;
  const user = s.environment.POSTGRES_USER ?? 'postgres';
  const password = s.environment.POSTGRES_PASSWORD ?? '';
  const asPostgres = (argv: string[]) => (IS_ROOT ? ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', ...argv] : argv);
  const port = () => ctx.ports.port(s.name, 0, 5432);
  let portNow = 0;
  return {
    async prepare() {
      binDir = bin();
      if (existsSync(join(data, 'PG_VERSION'))) return;
      mkdirSync(data, { recursive: true, mode: 0o700 });
      // The image's first start: the superuser is POSTGRES_USER with POSTGRES_PASSWORD, checked on TCP.
      const pwfile = join(data, '..', `.pw-${process.pid}`);
      writeFileSync(pwfile, password, { mode: 0o644 });
      try {
        if (IS_ROOT) { chownSync(data, uidOf('postgres'), gidOf('postgres')); }
        const [cmd, ...args] = asPostgres([join(binDir, 'initdb'), '-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8']);
        await run(cmd!, args);
      } finally {
        rmSync(pwfile, { force: true });
      }
    },
    async afterReady() {
      const db = s.environment.POSTGRES_DB ?? user;
      const psql = (sql: string) => run(join(binDir, 'psql'), ['-h', '127.0.0.1', '-p', String(portNow), '-U', user, '-d', 'postgres', '-qtAc', sql], { env: { ...baseEnv(), PGPASSWORD: password } });
      if ((await psql(`select 1 from pg_database where datname = '${db.replace(/'/g, "''")}'`)).stdout.trim() !== '1') await psql(`create database "${db.replace(/"/g, '""')}"`);
    },
    async instance() {
      portNow = await port();
      // The image's command is `postgres <flags>`: the flags carry over.
      const flags = s.argv[0] === 'postgres' ? s.argv.slice(1) : s.argv;
      return {
        argv: asPostgres([join(binDir, 'postgres'), '-D', data, '-p', String(portNow), '-h', '127.0.0.1', '-k', data, ...flags]),
        env: baseEnv(), cwd: ROOT, oneShot: false, graceSeconds: 20,
        ready: async () => (await run(join(binDir, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(portNow)]).then(() => true, () => false)),
      };
    },
    cleanup() { rmSync(data, { recursive: true, force: true }); },
  };
}

const uidOf = (user: string) => Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
const gidOf = (user: string) => Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());

function temporalServerAdapter(ctx: LocalContext, s: ServiceSpec): Adapter {
  const dir = temporalDir('server', s.tag);
  return {
    async instance() {
      const { env } = await localEnv(ctx, s);
      const frontend = await ctx.ports.port(s.name, 0, 7233);
      // In a container every service keeps its default port; here each gets a free one of its own.
      const ports: Record<string, number> = { FRONTEND_GRPC_PORT: frontend };
      for (const v of ['FRONTEND_HTTP_PORT', 'FRONTEND_MEMBERSHIP_PORT', 'HISTORY_GRPC_PORT', 'HISTORY_MEMBERSHIP_PORT',
        'MATCHING_GRPC_PORT', 'MATCHING_MEMBERSHIP_PORT', 'WORKER_GRPC_PORT', 'WORKER_MEMBERSHIP_PORT']) ports[v] = await ctx.ports.extra(s.name, v);
      return {
        argv: [join(dir, 'temporal-server'), 'start'],
        env: { ...baseEnv(), ...env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), BIND_ON_IP: '127.0.0.1' },
        cwd: ROOT, oneShot: false, graceSeconds: 20,
        ready: () => temporalServing(`127.0.0.1:${frontend}`),
      };
    },
  };
}

function adminToolsAdapter(ctx: LocalContext, s: ServiceSpec): Adapter {
  return {
    async instance() {
      const { env } = await localEnv(ctx, s);
      // The image carries temporal-sql-tool (built beside the server) and the `temporal` CLI (scripts/bootstrap.sh).
      const path = [temporalDir('server', s.tag), join(ROOT, '.tools/bin'), baseEnv().PATH].join(':');
      return { argv: s.argv, env: { ...baseEnv(), ...env, PATH: path }, cwd: ROOT, oneShot: true, graceSeconds: 5, ready: async () => true };
    },
  };
}

function uiAdapter(ctx: LocalContext, s: ServiceSpec): Adapter {
  const dir = temporalDir('ui', s.tag);
  const target = s.ports[0]?.target ?? 8080;
  return {
    async instance() {
      const { env } = await localEnv(ctx, s);
      const port = await ctx.ports.port(s.name, 0, target);
      return {
        argv: [join(dir, 'ui-server'), '--root', dir, '--config', 'config', '--env', 'docker', 'start'],
        env: { ...baseEnv(), ...env, TEMPORAL_UI_PORT: String(port) }, cwd: dir, oneShot: false, graceSeconds: 5,
        ready: () => httpAnswers(`http://127.0.0.1:${port}/`),
      };
    },
  };
}

function appAdapter(ctx: LocalContext, s: ServiceSpec): Adapter {
  // `npx tsx x.ts` in the image: the same binary from this checkout's node_modules.
  const argv = s.argv[0] === 'npx' ? [join(ROOT, 'node_modules/.bin', s.argv[1]!), ...s.argv.slice(2)] : s.argv;
  const targets = new Set(s.ports.map((p) => p.target));
  return {
    async instance(replica) {
      const { env } = await localEnv(ctx, s);
      const own: Record<string, string> = {};
      // A variable that names the port this service listens on gets this replica's local port.
      for (const [k, v] of Object.entries(env)) if (/PORT$/.test(k) && targets.has(Number(v))) own[k] = String(await ctx.ports.port(s.name, replica, Number(v)));
      if (env.HOST === '0.0.0.0') own.HOST = '127.0.0.1';
      const port = s.ports[0] ? await ctx.ports.port(s.name, replica, s.ports[0].target) : undefined;
      return {
        argv, env: { ...baseEnv(), ...env, ...(s.oneShot ? {} : ctx.appEnv), ...own }, cwd: ROOT, oneShot: s.oneShot, graceSeconds: 15,
        // An HTTP server serves once it answers; a worker once it says it polls.
        ready: port !== undefined ? () => httpAnswers(`http://127.0.0.1:${port}/`) : async (p: Proc) => p.recent.some((l) => l.includes('worker running')),
      };
    },
  };
}

/** The line a demo-data job prints with the keys it created (scripts/demo-data-job.ts). */
export const DEMO_KEYS_MARK = 'DEMO_KEYS ';

export function readJson<T>(file: string): T | undefined {
  try { return JSON.parse(readFileSync(file, 'utf8')) as T; } catch { return undefined; }
}
