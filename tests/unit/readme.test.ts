import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app';
import { loadConfig } from '../../config';
import type { Db } from '../../db/client';
import { ADMIN_PATH } from '../../seller/admin';
import { ROOT } from '../support/make-start';
import {
  commands, curlEndpoints, makeTargets, matchesOpenApi, namedFiles, npmScripts, proseEndpoints, shellBlocks, type Endpoint,
} from '../support/readme';

/**
 * The README's commands still parse, and name only npm scripts, make targets, files and API endpoints that exist;
 * endpoints are checked against the OpenAPI document the API serves.
 */
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = shellBlocks(readme);
let paths: Record<string, Record<string, unknown>>;

beforeAll(async () => {
  // Building the app registers every route and its OpenAPI entry; nothing here reaches a database or Temporal.
  const app = createApp({ db: {} as Db, temporal: {} as Client, config: loadConfig({ MASTER_KEY: '0'.repeat(64) }), logger: pino({ level: 'silent' }) });
  const server: Server = await new Promise((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  try {
    const doc = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`)).json() as { paths: typeof paths };
    paths = doc.paths;
  } finally {
    await new Promise((r) => server.close(r));
  }
});

// The API (3000; make cluster runs a second one on 3001) and what is served besides the OpenAPI document: the
// document itself, its page, health, metrics, and the reference seller's interface and fault switches (4000).
const API_PORTS = [3000, 3001];
const OFF_DOCUMENT: Record<number, string[]> = {
  3000: ['GET /openapi.json', 'GET /docs', 'GET /healthz', 'GET /metrics'],
  4000: [`GET ${ADMIN_PATH}`, `PUT ${ADMIN_PATH}`, `DELETE ${ADMIN_PATH}`, 'POST /saasproduce'],
};

describe('README', () => {
  it('has shell blocks, and every one parses (bash -n)', () => {
    expect(blocks.length).toBeGreaterThan(5);
    for (const b of blocks) {
      const r = spawnSync('bash', ['-n'], { input: b.text, encoding: 'utf8' });
      expect(r.stderr, `README.md line ${b.line}`).toBe('');
      expect(r.status, `README.md line ${b.line}`).toBe(0);
    }
  });

  it('names only npm scripts and make targets that exist', () => {
    const scripts = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
    const targets = [...readFileSync(join(ROOT, 'Makefile'), 'utf8').matchAll(/^([\w-]+):/gm)].map((m) => m[1]!);
    // Commands in shell blocks, and those quoted in prose as `npm run …` / `make …`.
    const cmds = [...blocks.flatMap((b) => commands(b.text)), ...[...readme.matchAll(/`((?:npm run|make) [^`]+)`/g)].map((m) => m[1]!)];
    const named = { scripts: [...new Set(npmScripts(cmds))], targets: [...new Set(makeTargets(cmds))] };
    expect(named.scripts).toContain('keys:create');
    expect(named.targets).toContain('start');
    expect(named.scripts.filter((s) => !scripts.includes(s))).toEqual([]);
    expect(named.targets.filter((t) => !targets.includes(t))).toEqual([]);
  });

  it('names only files that exist', () => {
    const files = namedFiles(readme);
    expect(files).toContain('docs/operator-tour.md');
    expect(files.filter((f) => !existsSync(join(ROOT, f)))).toEqual([]);
  });

  it('calls and names only endpoints of the OpenAPI document, with their methods', () => {
    const called: Endpoint[] = blocks.flatMap((b) => curlEndpoints(commands(b.text), `README.md line ${b.line}`));
    const named = [...called, ...proseEndpoints(readme)];
    expect(called.length).toBeGreaterThan(30);
    const unknown = named.filter((e) => !(OFF_DOCUMENT[API_PORTS.includes(e.port) ? 3000 : e.port] ?? []).includes(`${e.method} ${e.path}`)
      && !(API_PORTS.includes(e.port) && matchesOpenApi(paths, e)));
    expect(unknown.map((e) => `${e.where}: ${e.method} localhost:${e.port}${e.path}`)).toEqual([]);
  });

  it('the check itself tells a renamed endpoint, a wrong method and a missing script', () => {
    expect(matchesOpenApi(paths, { method: 'POST', path: '/v1/orders' })).toBe(true);
    expect(matchesOpenApi(paths, { method: 'DELETE', path: '/v1/orders' })).toBe(false);
    expect(matchesOpenApi(paths, { method: 'POST', path: '/v1/reviews/$APP/approve' })).toBe(true);
    expect(matchesOpenApi(paths, { method: 'POST', path: '/v1/reviewz/$APP/approve' })).toBe(false);
    const [e] = curlEndpoints(commands('curl -s -X POST localhost:3000/v1/accounts/$(curl -s localhost:3000/v1/account | jq -r .principalId)/top-up -d \'{}\''), 'x');
    expect(e).toMatchObject({ method: 'POST', path: '/v1/accounts/{sub}/top-up' });
    expect(npmScripts(commands('SELLER=x npm run -s seller:faults -- --down 5 && make start PORT=1 && npm run nope'))).toEqual(['seller:faults', 'nope']);
    expect(makeTargets(['make start DEMO_FAST=1', 'make -s stop'])).toEqual(['start', 'stop']);
  });
});
