/**
 * The production topology of docker-compose.yml as processes on this machine, without Docker:
 * `make cluster` (scripts/cluster/main.ts), the chaos test and bench:provision --cluster start it here.
 * Services start in dependency order with compose's conditions (started, healthy, completed), every
 * replica is its own process, and each can be killed and started again.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { adapterFor, DEMO_KEYS_MARK, PortPlan, readJson, ROOT, type Adapter, type LocalContext } from './local';
import { Proc } from './processes';
import { readTopology, startOrder, type ServiceSpec } from './topology';

export interface ClusterOptions {
  /** Where logs, ports and demo keys go (and PostgreSQL's data when not root). */
  dataDir: string;
  ports?: 'compose' | 'auto';
  /** First host port of a service, in place of the one compose publishes (replicas count up). */
  portOverrides?: Record<string, number>;
  /** Replicas of a service, in place of compose's `deploy.replicas` (like `docker compose up --scale`). */
  scale?: Record<string, number>;
  appEnv?: Record<string, string>;
  /** Progress and events, one line each. */
  log?: (line: string) => void;
  /** Seconds a service may take to serve. */
  readySeconds?: number;
}

export interface Cluster {
  services: Record<string, ServiceSpec>;
  /** Every process by instance name (`api-1`, `worker-2`, `temporal`, `postgres`, …). */
  procs: Map<string, Proc>;
  instances(service: string): Proc[];
  /** The environment an instance was started with (addresses already local). */
  envOf(instance: string): Record<string, string>;
  urls: { api: string[]; temporal: string; ui?: string; seller?: string; databaseUrl: string };
  demoKeys?: DemoKeys;
  /** Kills an instance (default SIGKILL) and keeps it down. */
  kill(instance: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts an instance again and waits until it serves. */
  restart(instance: string): Promise<void>;
  stop(): Promise<void>;
  /** stop(), then removes what the cluster keeps outside dataDir (PostgreSQL's files as root). */
  destroy(): Promise<void>;
  skipped: Record<string, string>;
}

export interface DemoKeys { operator: string; buyer: string; seller: string; sellerAccessKey: string; productId: string; skuId: string }

const instanceName = (s: ServiceSpec, replica: number, replicas: number) => (replicas > 1 ? `${s.name}-${replica + 1}` : s.name);

/** Builds the Temporal server, SQL tool and UI at compose's versions if .tools/ lacks them. */
export function buildTemporal() {
  execFileSync('bash', [join(ROOT, 'scripts/cluster/build-temporal.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const log = o.log ?? ((l: string) => console.log(`[cluster] ${l}`));
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  killLeftovers(dataDir, log);
  buildTemporal();

  const { services } = readTopology();
  for (const [name, n] of Object.entries(o.scale ?? {})) {
    if (!services[name]) throw new Error(`--scale: no service ${name} in docker-compose.yml`);
    services[name]!.replicas = n;
  }
  const ctx: LocalContext = {
    services, ports: new PortPlan(services, o.ports ?? 'compose', o.portOverrides), dataDir, skipped: new Set(), appEnv: o.appEnv ?? {},
  };
  const adapters = new Map<string, Adapter>();
  const skipped: Record<string, string> = {};
  for (const s of Object.values(services)) {
    const a = adapterFor(ctx, s);
    if (typeof a === 'string') { skipped[s.name] = a; ctx.skipped.add(s.name); } else adapters.set(s.name, a);
  }
  for (const [name, why] of Object.entries(skipped)) log(`${name}: not run (${why}); variables that point at it are left out`);

  const procs = new Map<string, Proc>();
  const envs = new Map<string, Record<string, string>>();
  const readySeconds = o.readySeconds ?? 180;
  let demoKeys: DemoKeys | undefined = readJson<DemoKeys>(join(dataDir, 'demo-keys.json'));
  const recordPids = () => writeFileSync(join(dataDir, 'pids.json'), JSON.stringify([...procs.values()].filter((p) => p.running).map((p) => ({ name: p.name, pid: p.pid, start: startTime(p.pid!) }))));

  const order = startOrder(services).filter((s) => adapters.has(s.name));
  const phases = new Map<string, { started: Promise<void>; healthy: Promise<void>; completed: Promise<void> }>();
  // A process killed by accident of the runner itself (an exception, process.exit) must not outlive it.
  const onExit = () => { for (const p of procs.values()) p.killNow(); };
  process.on('exit', onExit);

  for (const s of order) {
    const adapter = adapters.get(s.name)!;
    const deps = Object.entries(s.dependsOn).filter(([d]) => adapters.has(d)).map(([d, cond]) => {
      const ph = phases.get(d)!;
      return cond === 'service_healthy' ? ph.healthy : cond === 'service_completed_successfully' ? ph.completed : ph.started;
    });
    const started = Promise.all(deps).then(async () => {
      await adapter.prepare?.();
      const list: Proc[] = [];
      for (let r = 0; r < s.replicas; r++) {
        const name = instanceName(s, r, s.replicas);
        const spec = await adapter.instance(r);
        envs.set(name, spec.env);
        const p = new Proc({ ...spec, name, logFile: join(dataDir, 'logs', `${name}.log`) }, log);
        procs.set(name, p);
        p.start();
        list.push(p);
      }
      recordPids();
      log(`${s.name}: started ${list.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
      return list;
    });
    const healthy = started.then(async (list) => {
      if (s.oneShot) return;
      await Promise.all(list.map((p) => p.waitReady(readySeconds)));
      await adapter.afterReady?.();
    });
    const completed = started.then(async (list) => {
      if (!s.oneShot) { await healthy; return; }
      for (const p of list) {
        const code = await p.wait();
        if (code !== 0) throw new Error(`${p.name} failed (exit ${code}); last output:\n${p.recent.slice(-20).join('\n')}`);
        const keys = p.recent.find((l) => l.startsWith(DEMO_KEYS_MARK));
        if (keys) { demoKeys = JSON.parse(keys.slice(DEMO_KEYS_MARK.length)) as DemoKeys; writeFileSync(join(dataDir, 'demo-keys.json'), JSON.stringify(demoKeys, null, 2), { mode: 0o600 }); }
      }
      log(`${s.name}: done`);
    });
    // Failures surface through the awaits below; these keep Node from reporting them twice.
    for (const x of [started, healthy, completed]) x.catch(() => undefined);
    phases.set(s.name, { started: started.then(() => undefined), healthy, completed });
  }

  const instances = (service: string) => {
    const s = services[service];
    return s ? Array.from({ length: s.replicas }, (_, r) => procs.get(instanceName(s, r, s.replicas))).filter((p): p is Proc => !!p) : [];
  };
  const stopAll = async () => {
    for (const s of [...order].reverse()) await Promise.all(instances(s.name).map((p) => p.stop()));
    for (const p of procs.values()) p.close();
    process.off('exit', onExit);
    rmSync(join(dataDir, 'pids.json'), { force: true });
  };

  try {
    await Promise.all(order.map((s) => phases.get(s.name)!.completed));
    for (const s of order) if (!s.oneShot) await phases.get(s.name)!.healthy;
  } catch (e) {
    await stopAll();
    throw e;
  }

  const portOf = async (service: string, replica = 0) => {
    const s = services[service];
    return s?.ports[0] ? ctx.ports.port(service, replica, s.ports[0].target) : undefined;
  };
  const api = await Promise.all(instances('api').map(async (_, r) => `http://127.0.0.1:${await portOf('api', r)}`));
  const ui = adapters.has('temporal-ui') ? await portOf('temporal-ui') : undefined;
  const sellerPort = adapters.has('seller') ? await portOf('seller') : undefined;
  const urls = {
    api, temporal: `127.0.0.1:${await ctx.ports.port('temporal', 0, 7233)}`,
    ...(ui ? { ui: `http://localhost:${ui}` } : {}),
    ...(sellerPort ? { seller: `http://127.0.0.1:${sellerPort}/saasproduce` } : {}),
    databaseUrl: envs.get(instances('api')[0]?.name ?? '')?.DATABASE_URL ?? '',
  };
  writeFileSync(join(dataDir, 'ports.json'), JSON.stringify(urls, null, 2));

  return {
    services, procs, instances, urls, skipped,
    get demoKeys() { return demoKeys; },
    envOf: (name) => envs.get(name) ?? {},
    async kill(name, signal = 'SIGKILL') {
      const p = procs.get(name);
      if (!p) throw new Error(`no instance ${name}`);
      await p.kill(signal);
    },
    async restart(name) {
      const p = procs.get(name);
      if (!p) throw new Error(`no instance ${name}`);
      p.start();
      recordPids();
      await p.waitReady(readySeconds);
    },
    stop: stopAll,
    async destroy() {
      await stopAll();
      for (const a of adapters.values()) a.cleanup?.();
    },
  };
}

/** When a process started (clock ticks since boot): with the pid, it tells a process from a later one that reuses the pid. */
function startTime(pid: number): string {
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!; } catch { return ''; }
}

/** Processes a runner killed with SIGKILL left behind (their process groups), found by its pid file. */
function killLeftovers(dataDir: string, log: (l: string) => void) {
  const file = join(dataDir, 'pids.json');
  for (const { name, pid, start } of readJson<{ name: string; pid: number; start: string }[]>(file) ?? []) {
    if (!start || startTime(pid) !== start) continue;
    try { process.kill(-pid, 'SIGKILL'); log(`killed ${name} (pid ${pid}) left over from an earlier run`); } catch { /* gone */ }
  }
  rmSync(file, { force: true });
}
