/**
 * `make stop`: stops the `make start` of this checkout from another terminal, or after a Ctrl-C that
 * reached only `make`. It signals only the processes that `make start` recorded in .data/start.pid and
 * that still run from this checkout, so a recycled pid or another checkout's system is never touched.
 */
import { existsSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `make start` keeps its data: .data/ unless DATA_DIR says otherwise (tests run the system in their own). */
export const dataDir = () => process.env.DATA_DIR || '.data';
export const pidFile = () => `${dataDir()}/start.pid`;
export interface RunningSystem { pid: number; temporalPid?: number; apiUrl: string }

/** True while `pid` runs with this checkout as its working directory and `cmdline` matching. */
export function ours(pid: number, cmdline: RegExp): boolean {
  try {
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    return cwd === process.cwd() && cmdline.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
  } catch {
    return false; // gone, or not ours to read
  }
}

async function end(pid: number, cmdline: RegExp, what: string, waitMs: number): Promise<void> {
  if (!ours(pid, cmdline)) return;
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < waitMs; waited += 200) {
    if (!ours(pid, cmdline)) { console.log(`stopped ${what} (pid ${pid})`); return; }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`${what} (pid ${pid}) did not stop within ${waitMs / 1000} s; sending SIGKILL`);
  process.kill(pid, 'SIGKILL');
}

export const MARKETPLACE_CMDLINE = /scripts\/start\.ts/;

export async function stopRunningSystem(): Promise<void> {
  if (!existsSync(pidFile())) { console.log('nothing to stop: no make start runs from this checkout'); return; }
  const running = JSON.parse(readFileSync(pidFile(), 'utf8')) as RunningSystem;
  // The system stops its own dev server after the worker drained; the second step only finds an orphan.
  await end(running.pid, MARKETPLACE_CMDLINE, 'the marketplace', 60_000);
  if (running.temporalPid) await end(running.temporalPid, /server start-dev/, 'the Temporal dev server', 30_000);
  rmSync(pidFile(), { force: true });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await stopRunningSystem();
