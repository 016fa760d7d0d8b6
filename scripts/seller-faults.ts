/**
 * `npm run seller:faults -- [switches]`: flips the fault switches of the reference seller that `make start`
 * runs, while it runs (seller/admin.ts). Without switches it shows them; with switches it sets exactly those
 * (what is not given is off); `--clear` turns everything off. docs/demo.md walks through each.
 */
import { readFileSync } from 'node:fs';
import { describeFaults, FAULT_FLAGS, parseFaultArgs } from '../seller/faults';
import { ADMIN_PATH, type FaultSettings } from '../seller/admin';
import { dataDir } from './stop';

const HELP = `usage: npm run seller:faults -- [switches]     (no switches: show the current ones)

  --down SECONDS            answer HTTP 503 to every call for SECONDS
  --result-codes C1,C2,…    newInstance answers these codes next, one per call (000005: retry, 000100–000107: refused)
  --async                   newInstance answers 000004; the instance is ready a moment later
  --sync                    back to immediate provisioning
  --clear                   every switch off
  --url URL                 the seller (default http://127.0.0.1:$DEMO_SELLER_PORT, 4000)
${FAULT_FLAGS.map((f) => `  --${f.flag}${f.value ? ' MS' : ''}`.padEnd(28) + f.help).join('\n')}`;

function fail(message: string): never {
  console.error(`${message}\n(npm run seller:faults -- --help lists the switches)`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) { console.log(HELP); process.exit(0); }

// This command's own switches; the rest are the seller's command-line switches (seller/faults.ts).
const settings: FaultSettings = {};
let url = `http://127.0.0.1:${process.env.DEMO_SELLER_PORT || 4000}`;
let clear = false;
const rest: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  const value = () => { const v = argv[++i]; if (v === undefined || v.startsWith('--')) fail(`${a} needs a value`); return v; };
  if (a === '--down') {
    const v = value();
    if (!/^\d{1,5}$/.test(v) || Number(v) < 1) fail(`--down takes a number of seconds, got ${v}`);
    settings.downForSeconds = Number(v);
  } else if (a === '--result-codes') {
    const codes = value().split(',').map((c) => c.trim()).filter(Boolean);
    if (codes.length === 0 || codes.some((c) => !/^\d{6}$/.test(c))) fail('--result-codes takes six-digit codes separated by commas, e.g. 000005,000005');
    settings.resultCodes = codes;
  } else if (a === '--async' || a === '--sync') settings.mode = a === '--async' ? 'async' : 'sync';
  else if (a === '--clear') clear = true;
  else if (a === '--url') url = value().replace(/\/+$/, '');
  else rest.push(a);
}
try {
  Object.assign(settings, parseFaultArgs(rest));
} catch (e) {
  fail((e as Error).message);
}

let accessKey = process.env.SELLER_ACCESS_KEY;
if (!accessKey) {
  const file = `${dataDir()}/demo-keys.json`;
  try {
    accessKey = (JSON.parse(readFileSync(file, 'utf8')) as { sellerAccessKey: string }).sellerAccessKey;
  } catch {
    fail(`no ${file}: run \`make start\` first (or set SELLER_ACCESS_KEY)`);
  }
}

const method = clear ? 'DELETE' : Object.keys(settings).length ? 'PUT' : 'GET';
let res: Response;
try {
  res = await fetch(url + ADMIN_PATH, {
    method, headers: { authorization: `Bearer ${accessKey}`, ...(method === 'PUT' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'PUT' ? { body: JSON.stringify(settings) } : {}), signal: AbortSignal.timeout(5000),
  });
} catch (e) {
  fail(`the reference seller at ${url} did not answer (${(e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message}); is \`make start\` running?`);
}
const body = (await res.json()) as Record<string, unknown>;
if (!res.ok) fail(`the seller refused: ${String(body.error ?? res.status)}`);
const on = describeFaults(body);
console.log(`reference seller at ${url}: ${body.mode}${body.downForSeconds ? `, down for ${String(body.downForSeconds)} s more` : ''}${Array.isArray(body.resultCodes) && body.resultCodes.length ? `, next newInstance codes ${body.resultCodes.join(',')}` : ''}${on.length ? `, ${on.join(' ')}` : ''}`);
