import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { searchAttributeArgs } from '../workflows/search-attributes';

export const TOOLS_BIN = resolve(import.meta.dirname, '../.tools/bin');
export const TEMPORAL_CLI = process.env.TEMPORAL_CLI ?? `${TOOLS_BIN}/temporal`;
export const TEMPORAL_TEST_SERVER = process.env.TEMPORAL_TEST_SERVER ?? `${TOOLS_BIN}/temporal-test-server`;

export function requireTool(path: string) {
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`make bootstrap\` (scripts/bootstrap.sh) first`);
}

/** Starts `temporal server start-dev` persisted to SQLite, with this project's search attributes. */
export function startDevServer(o: { dbFile: string; port: number; uiPort: number; log: (line: string) => void }): ChildProcess {
  requireTool(TEMPORAL_CLI);
  mkdirSync(resolve(o.dbFile, '..'), { recursive: true });
  const child = spawn(TEMPORAL_CLI, [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--ui-port', String(o.uiPort),
    '--db-filename', o.dbFile, '--log-level', 'warn', ...searchAttributeArgs(),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const forward = (buf: Buffer) => buf.toString().split('\n').filter(Boolean).forEach((l) => o.log(l));
  child.stdout!.on('data', forward);
  child.stderr!.on('data', forward);
  return child;
}
