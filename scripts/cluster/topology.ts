/**
 * The production topology as docker-compose.yml describes it, read into plain data. `make cluster`
 * (scripts/cluster/) and Docker both run from that one file; nothing here adds a service, a variable
 * or a dependency of its own.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

export const COMPOSE_FILE = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));

export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface ServiceSpec {
  name: string;
  /** Repository without tag (`temporalio/server`) and the tag (`1.31.2`). */
  image: string;
  tag: string;
  /** Built from this repository (`build:`): the app itself. */
  built: boolean;
  /** entrypoint followed by command, as the container would exec them; empty: the image's default. */
  argv: string[];
  environment: Record<string, string>;
  replicas: number;
  /** Container ports, with the host port compose publishes for each replica (in order), if any. */
  ports: { target: number; published: number[] }[];
  dependsOn: Record<string, DependencyCondition>;
  /** `restart: "no"`: a job that runs to completion. */
  oneShot: boolean;
  /** Bind mounts of repository files: container path -> absolute host path. */
  binds: Record<string, string>;
}

interface RawService {
  image?: string; build?: unknown; entrypoint?: string | string[]; command?: string | string[];
  environment?: Record<string, unknown> | string[]; deploy?: { replicas?: number }; restart?: string;
  ports?: Array<string | number | { target?: number; published?: string | number }>;
  depends_on?: string[] | Record<string, { condition?: DependencyCondition }>; volumes?: Array<string | { type?: string; source?: string; target?: string }>;
}

/** Compose interpolates `${VAR}`/`$VAR` from the host; this file uses only `$$`, a literal `$`. */
function uninterpolate(value: string, where: string): string {
  const stray = value.replace(/\$\$/g, '').match(/\$\{?[A-Za-z_]/);
  if (stray) throw new Error(`${where}: host interpolation (${stray[0]}…) is not supported; write $$ for a literal $`);
  return value.replace(/\$\$/g, '$');
}

const words = (v: string | string[] | undefined, where: string): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map((w) => uninterpolate(String(w), where)) : uninterpolate(v, where).split(/\s+/).filter(Boolean);

function environmentOf(raw: RawService['environment'], where: string): Record<string, string> {
  const pairs: [string, string][] = Array.isArray(raw)
    ? raw.map((e) => { const i = e.indexOf('='); return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)]; })
    : Object.entries(raw ?? {}).map(([k, v]) => [k, v == null ? '' : String(v)]);
  return Object.fromEntries(pairs.map(([k, v]) => [k, uninterpolate(v, `${where}.${k}`)]));
}

/** `[ip:]host[-hostEnd]:container[/proto]`, or the long syntax; a range gives one host port per replica. */
function portsOf(raw: RawService['ports'], replicas: number, where: string): ServiceSpec['ports'] {
  return (raw ?? []).map((p) => {
    if (typeof p === 'object') return { target: Number(p.target), published: p.published === undefined ? [] : [Number(p.published)] };
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts[parts.length - 1]);
    const host = parts.length >= 2 ? parts[parts.length - 2]! : '';
    const [from, to] = host.split('-').map(Number);
    const published = host === '' ? [] : to === undefined ? [from!] : Array.from({ length: to - from! + 1 }, (_, i) => from! + i);
    if (published.length > 1 && published.length < replicas) throw new Error(`${where}: ${published.length} host ports for ${replicas} replicas`);
    return { target, published };
  });
}

export function readTopology(file = COMPOSE_FILE): { services: Record<string, ServiceSpec>; name: string } {
  const doc = parseDocument(readFileSync(file, 'utf8'), { merge: true });
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  const compose = doc.toJS() as { name?: string; services?: Record<string, RawService> };
  const root = fileURLToPath(new URL('.', `file://${file}`));
  const services: Record<string, ServiceSpec> = {};
  for (const [name, s] of Object.entries(compose.services ?? {})) {
    const where = `services.${name}`;
    if (!s.image) throw new Error(`${where}: no image`);
    const at = s.image.lastIndexOf(':');
    const replicas = s.deploy?.replicas ?? 1;
    const dependsOn = Array.isArray(s.depends_on)
      ? Object.fromEntries(s.depends_on.map((d) => [d, 'service_started' as const]))
      : Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([d, c]) => [d, c?.condition ?? 'service_started']));
    const binds: Record<string, string> = {};
    for (const v of s.volumes ?? []) {
      const [source, target] = typeof v === 'string' ? v.split(':') : [v.source, v.target];
      if (source && target && /^\.{1,2}\//.test(source)) binds[target] = fileURLToPath(new URL(source, `file://${root}`));
    }
    services[name] = {
      name, image: at > 0 ? s.image.slice(0, at) : s.image, tag: at > 0 ? s.image.slice(at + 1) : 'latest', built: s.build !== undefined,
      argv: [...words(s.entrypoint, `${where}.entrypoint`), ...words(s.command, `${where}.command`)],
      environment: environmentOf(s.environment, `${where}.environment`), replicas,
      ports: portsOf(s.ports, replicas, `${where}.ports`), dependsOn, oneShot: s.restart === 'no', binds,
    };
  }
  return { services, name: compose.name ?? 'marketplace' };
}

/** The services in an order where every dependency comes before its dependants. */
export function startOrder(services: Record<string, ServiceSpec>): ServiceSpec[] {
  const done = new Set<string>();
  const out: ServiceSpec[] = [];
  const visit = (name: string, path: string[]) => {
    if (done.has(name)) return;
    if (path.includes(name)) throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
    const s = services[name];
    if (!s) throw new Error(`${path.at(-1)} depends on unknown service ${name}`);
    for (const d of Object.keys(s.dependsOn)) visit(d, [...path, name]);
    done.add(name);
    out.push(s);
  };
  for (const name of Object.keys(services)) visit(name, []);
  return out;
}
