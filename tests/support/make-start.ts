import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

/** A port that was free a moment ago (the system under test binds it itself). */
async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().once('error', fail).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/**
 * `make start` as a user runs it, in its own process group, on free ports and with its data in a
 * temporary directory (PGlite, as on a fresh machine: DATABASE_URL is not passed on). With `again`, it starts
 * on that earlier run's ports and data, as a user runs `make start` a second time in the same checkout.
 */
export async function makeStart(env: Record<string, string> = {}, again?: { dataDir: string; ports: Record<'api' | 'temporal' | 'ui' | 'seller', number> }) {
  const dataDir = again?.dataDir ?? mkdtempSync(join(tmpdir(), 'make-start-'));
  const [api, temporal, ui, seller] = again ? [again.ports.api, again.ports.temporal, again.ports.ui, again.ports.seller]
    : [await freePort(), await freePort(), await freePort(), await freePort()];
  const { DATABASE_URL: _db, ...inherited } = process.env;
  const childEnv = {
    ...inherited, PORT: String(api), TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`, TEMPORAL_UI_PORT: String(ui),
    DEMO_SELLER_PORT: String(seller), DATA_DIR: dataDir, ...env,
  };
  let output = '';
  const child: ChildProcess = spawn('make', ['start'], { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => { output += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { output += b.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));

  for (const started = Date.now(); !output.includes('Marketplace is running.'); ) {
    if (child.exitCode !== null || Date.now() - started > 180_000) {
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
      throw new Error(`make start did not come up:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const keys = JSON.parse(readFileSync(join(dataDir, 'demo-keys.json'), 'utf8')) as Record<string, string>;

  return {
    baseUrl: `http://127.0.0.1:${api}`, ports: { api, temporal, ui, seller }, dataDir, keys, env: childEnv,
    output: () => output,
    /** How `make` ended. */
    exited: () => exited,
    /** Ctrl-C: SIGINT to the whole process group, as a terminal sends it. */
    async interrupt() {
      process.kill(-child.pid!, 'SIGINT');
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 60_000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
    /** Cleans up whatever is left, even after a failed test (the data directory stays with the run that made it). */
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
        await exited;
      }
      if (!again) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
export type MakeStart = Awaited<ReturnType<typeof makeStart>>;

/** The sh block of the README that follows `<!-- walkthrough: name -->`. */
export function readmeWalkthrough(name: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- walkthrough: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!m) throw new Error(`README.md has no walkthrough "${name}"`);
  return m[1]!;
}

/**
 * Runs README commands against a `makeStart` system: its API port for localhost:3000, its data directory for
 * .data/, a private directory for /tmp/. Everything else runs as written, from the checkout, with bash.
 */
export async function runWalkthrough(sys: MakeStart, script: string, timeoutMs: number) {
  const tmp = mkdtempSync(join(tmpdir(), 'walkthrough-'));
  const to: Record<string, string> = { 'localhost:3000': `127.0.0.1:${sys.ports.api}`, '.data/': `${sys.dataDir}/`, '/tmp/': `${tmp}/` };
  const text = script.replace(/localhost:3000|\.data\/|\/tmp\//g, (m) => to[m]!);
  const child = spawn('bash', ['-eo', 'pipefail', '-c', text], { cwd: ROOT, env: sys.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  rmSync(tmp, { recursive: true, force: true });
  return { code, stdout, stderr };
}
