import cvssLib from 'ae-cvss-calculator';
import { compareApk, compareDebian } from '../../domain/package-versions';
import type { Finding, OsvRecord, Rule, Severity } from './types';
import { isFile, wholeFile } from './util';

// ae-cvss-calculator is CommonJS: its named exports come through the default import.
const { fromVector } = cvssLib as unknown as typeof import('ae-cvss-calculator');

export interface Installed { name: string; source: string; version: string }
interface State {
  os: { id: string; version: string } | null;
  dpkg: Installed[] | null;
  apk: Installed[] | null;
}

const DPKG_STATUS = '/var/lib/dpkg/status';
const APK_INSTALLED = '/lib/apk/db/installed';

/** Installed packages of a dpkg status file (only those in state "install ok installed"). */
export function parseDpkgStatus(text: string): Installed[] {
  const out: Installed[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) f[m[1]!.toLowerCase()] = m[2]!.trim();
    }
    if (!f.package || !f.version || !/\binstalled$/.test(f.status ?? '')) continue;
    // `Source: openssl (3.0.11-1)`: the vulnerability feed names source packages, at the source's version.
    const src = /^(\S+)(?:\s+\(([^)]+)\))?/.exec(f.source ?? '');
    out.push({ name: f.package, source: src?.[1] ?? f.package, version: src?.[2] ?? f.version });
  }
  return out;
}

/** Installed packages of apk's database (`P:` name, `V:` version, `o:` origin). */
export function parseApkInstalled(text: string): Installed[] {
  const out: Installed[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    for (const line of block.split('\n')) if (line[1] === ':') f[line[0]!] = line.slice(2).trim();
    if (f.P && f.V) out.push({ name: f.P, source: f.o ?? f.P, version: f.V });
  }
  return out;
}

function parseOsRelease(text: string) {
  const f: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=["']?([^"'\n]*)["']?$/.exec(line.trim());
    if (m) f[m[1]!] = m[2]!;
  }
  return f.ID ? { id: f.ID, version: f.VERSION_ID ?? '' } : null;
}

/** The highest CVSS base score among a record's vectors, computed from the vector itself. */
export function cvssScore(severity: { type: string; score: string }[] | undefined): { score: number; vector: string } | null {
  let best: { score: number; vector: string } | null = null;
  for (const s of severity ?? []) {
    if (!/^CVSS_V[234]$/.test(s.type)) continue;
    try {
      const v = fromVector(s.score);
      const score = v?.calculateScores().base;
      if (typeof score === 'number' && Number.isFinite(score) && (!best || score > best.score)) best = { score, vector: s.score };
    } catch {
      // An unparsable vector scores nothing; the match is still reported.
    }
  }
  return best;
}

const severityOf = (score: number | null): Severity => (score === null ? 'low' : score >= 9 ? 'critical' : score >= 7 ? 'high' : score >= 4 ? 'medium' : 'low');

/** Is `version` inside an OSV affected entry (its explicit versions or its ECOSYSTEM ranges)? */
export function isAffected(version: string, affected: NonNullable<OsvRecord['affected']>[number], cmp: (a: string, b: string) => number): { fixed?: string } | null {
  if (affected.versions?.includes(version)) return {};
  for (const range of affected.ranges ?? []) {
    if (range.type !== 'ECOSYSTEM') continue;
    let inside = false;
    let fixed: string | undefined;
    for (const e of range.events) {
      if (e.introduced !== undefined && (e.introduced === '0' || cmp(version, e.introduced) >= 0)) { inside = true; fixed = undefined; }
      if (e.fixed !== undefined) { if (cmp(version, e.fixed) >= 0) inside = false; else fixed ??= e.fixed; }
      if (e.last_affected !== undefined && cmp(version, e.last_affected) > 0) inside = false;
      if (e.limit !== undefined && cmp(version, e.limit) >= 0) inside = false;
    }
    if (inside) return fixed ? { fixed } : {};
  }
  return null;
}

/** The feed's ecosystem for the image: `Debian:12`, `Alpine:v3.18`, `Ubuntu:22.04`. */
function ecosystemOf(os: State['os'], manager: 'dpkg' | 'apk'): { base: string; release: string | null } {
  if (manager === 'apk') {
    const m = /^(\d+)\.(\d+)/.exec(os?.version ?? '');
    return { base: 'Alpine', release: m ? `v${m[1]}.${m[2]}` : null };
  }
  if (os?.id === 'ubuntu') return { base: 'Ubuntu', release: os.version || null };
  return { base: 'Debian', release: os?.version ? os.version.split('.')[0]! : null };
}

/**
 * `vulnerable-package`: installed packages (dpkg's status file, apk's installed database) matched
 * against the operator's offline OSV feed. A match fails the image when the CVSS base score computed
 * from its vector is 7.0 or more; lower or unscored matches are reported without failing it.
 */
export const vulnerablePackage: Rule<State> = {
  id: 'vulnerable-package',
  init: () => ({ os: null, dpkg: null, apk: null }),
  open(e, state) {
    if (!isFile(e)) return null;
    if (e.path === '/etc/os-release' || (e.path === '/usr/lib/os-release' && !state.os)) return wholeFile(64 << 10, (t) => { state.os = parseOsRelease(t) ?? state.os; return []; });
    if (e.path === DPKG_STATUS) return wholeFile(64 << 20, (t) => { state.dpkg = parseDpkgStatus(t); return []; });
    if (e.path === APK_INSTALLED) return wholeFile(64 << 20, (t) => { state.apk = parseApkInstalled(t); return []; });
    return null;
  },
  async finish(state, ctx) {
    const found: Finding[] = [];
    for (const [manager, list, path] of [['dpkg', state.dpkg, DPKG_STATUS], ['apk', state.apk, APK_INSTALLED]] as const) {
      if (!list?.length) continue;
      const cmp = manager === 'apk' ? compareApk : compareDebian;
      const eco = ecosystemOf(state.os, manager);
      // The feed names source packages (Debian) or origins (apk); one finding per source, naming its installed binaries.
      const bySource = new Map<string, { version: string; binaries: string[] }[]>();
      for (const p of list) {
        const forSource = bySource.get(p.source) ?? [];
        const same = forSource.find((x) => x.version === p.version);
        if (same) same.binaries.push(p.name);
        else forSource.push({ version: p.version, binaries: [p.name] });
        bySource.set(p.source, forSource);
      }
      const seen = new Set<string>();
      for (const rec of await ctx.vulnerabilities({ ecosystem: eco.base, names: [...bySource.keys()] })) {
        for (const a of rec.affected ?? []) {
          const [base, release] = (a.package?.ecosystem ?? '').split(':');
          if (base !== eco.base || (release && eco.release && release !== eco.release)) continue;
          const source = a.package!.name;
          for (const p of bySource.get(source) ?? []) {
            const hit = isAffected(p.version, a, cmp);
            const key = `${rec.id}:${source}:${p.version}`;
            if (!hit || seen.has(key)) continue;
            seen.add(key);
            const scored = cvssScore(a.severity ?? rec.severity);
            const score = scored?.score ?? null;
            const binaries = p.binaries.length > 1 || p.binaries[0] !== source ? ` (${p.binaries.sort().join(', ')})` : '';
            found.push({
              rule: 'vulnerable-package', path, severity: severityOf(score), blocking: score !== null && score >= 7,
              evidence: `${source} ${p.version}${binaries}: ${rec.id}${rec.aliases?.length ? ` (${rec.aliases.slice(0, 2).join(', ')})` : ''}, CVSS ${score ?? 'unscored'}${scored ? ` ${scored.vector}` : ''}${hit.fixed ? `, fixed in ${hit.fixed}` : ''}`,
            });
          }
        }
      }
    }
    return found;
  },
};
