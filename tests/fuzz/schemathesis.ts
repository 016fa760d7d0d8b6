import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ST = `${ROOT}.tools/schemathesis/bin/st`;
const CONFIG = fileURLToPath(new URL('./schemathesis.toml', import.meta.url));
const RUN_DIR = `${ROOT}.tools/schemathesis-run`;

/** The checks make test runs (README: "Fuzzing the API"). */
export const CHECKS = [
  'not_a_server_error', 'unsupported_method', 'positive_data_acceptance', 'negative_data_rejection',
  'status_code_conformance', 'content_type_conformance', 'response_schema_conformance', 'missing_required_header', 'allow_header_conformance',
];

/**
 * Runs schemathesis against the API's own /openapi.json as one role (its API key), with a bounded
 * number of examples per operation so the run stays within minutes. Resolves with the exit code and output.
 */
export function runSchemathesis(o: { baseUrl: string; apiKey: string; maxExamples: number; seed: number; extraArgs?: string[] }): Promise<{ code: number; output: string }> {
  if (!existsSync(ST)) throw new Error(`schemathesis is missing at ${ST}: run bash scripts/fuzz-tools.sh (make test does)`);
  const args = [
    '--config-file', CONFIG, '--no-color', 'run', `${o.baseUrl}/openapi.json`, '-H', `Authorization: Bearer ${o.apiKey}`,
    '--checks', CHECKS.join(','), '--max-examples', String(o.maxExamples), '--seed', String(o.seed),
    '--phases', 'examples,coverage,fuzzing', '--workers', '1', ...(o.extraArgs ?? []),
  ];
  return new Promise((resolve, reject) => {
    // Its run cache goes under .tools, not into the work tree.
    mkdirSync(RUN_DIR, { recursive: true });
    const child = spawn(ST, args, { cwd: RUN_DIR, env: { ...process.env, SCHEMATHESIS_HOOKS: '' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}
