/**
 * `npm run keys:create -- --role operator|buyer|seller --name NAME [--email E] [--phone P] [--merchant ID] [--supervisor]`
 * Creates a principal and prints its API key once; only the key's SHA-256 is stored.
 * While `make start` of this checkout runs (its API answers at the address in .data/start.pid), the key is created
 * through the API (POST /v1/api-keys) with the operator's key (OPERATOR_API_KEY, else the demo operator's in
 * .data/demo-keys.json): the embedded PGlite database has one owner at a time. Otherwise it writes to the database.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { createPrincipal, issueApiKey } from '../api/auth';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { merchants } from '../db/schema';
import { dataDir, pidFile, type RunningSystem } from './stop';

const args = z.object({
  role: z.enum(['buyer', 'seller', 'operator']),
  name: z.string().min(1).max(100),
  email: z.email().optional(),
  phone: z.string().regex(/^\+?[1-9]\d{6,14}$/).optional(),
  merchant: z.string().optional(),
  supervisor: z.boolean().default(false),
}).refine((a) => a.role !== 'seller' || a.merchant, { message: 'a seller key needs --merchant', path: ['merchant'] })
  .refine((a) => !a.supervisor || a.role === 'operator', { message: 'only operators can be supervisors', path: ['supervisor'] });

type Args = z.infer<typeof args>;
class Refused extends Error {}

/** The API of this checkout's running `make start`, when it answers, with the operator key to call it with. */
async function runningApi(): Promise<{ url: string; operatorKey: string } | undefined> {
  if (!existsSync(pidFile())) return undefined;
  const { apiUrl } = JSON.parse(readFileSync(pidFile(), 'utf8')) as RunningSystem;
  const answers = await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(3000) }).then(() => true, () => false);
  if (!answers) return undefined;
  const demoKeys = `${dataDir()}/demo-keys.json`;
  const operatorKey = process.env.OPERATOR_API_KEY || (existsSync(demoKeys) ? (JSON.parse(readFileSync(demoKeys, 'utf8')) as { operator?: string }).operator : undefined);
  if (!operatorKey) throw new Refused(`the system runs at ${apiUrl}: set OPERATOR_API_KEY to an operator's key to create keys through its API`);
  return { url: apiUrl, operatorKey };
}

/** POST /v1/api-keys as the operator: what each role's key takes, as the API states it. */
async function throughApi(api: { url: string; operatorKey: string }, a: Args) {
  const taken = { buyer: ['email', 'phone'], seller: ['merchant'], operator: ['email', 'supervisor'] }[a.role];
  const stray = (['email', 'phone', 'merchant'] as const).find((o) => a[o] !== undefined && !taken.includes(o));
  if (stray) throw new Refused(`--${stray}: the API does not take it for a ${a.role} key`);
  const body = {
    role: a.role, name: a.name, ...(a.email ? { email: a.email } : {}), ...(a.phone ? { phone: a.phone } : {}),
    ...(a.merchant ? { merchantId: a.merchant } : {}), ...(a.role === 'operator' ? { supervisor: a.supervisor } : {}),
  };
  const res = await fetch(`${api.url}/v1/api-keys`, {
    method: 'POST', headers: { authorization: `Bearer ${api.operatorKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body), signal: AbortSignal.timeout(10_000),
  });
  const answer = (await res.json().catch(() => ({}))) as { principalId?: string; apiKey?: string; detail?: string; title?: string; errors?: { field: string; message: string }[] };
  if (res.status !== 201) {
    const fields = answer.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
    throw new Refused(`${api.url}/v1/api-keys answered ${res.status}: ${answer.detail ?? answer.title ?? ''}${fields ? ` (${fields})` : ''}`);
  }
  return { principalId: answer.principalId, role: a.role, apiKey: answer.apiKey, via: `${api.url}/v1/api-keys` };
}

try {
  const { values } = parseArgs({ options: {
    role: { type: 'string' }, name: { type: 'string' }, email: { type: 'string' }, phone: { type: 'string' },
    merchant: { type: 'string' }, supervisor: { type: 'boolean' },
  } });
  const parsed = args.safeParse(values);
  if (!parsed.success) {
    console.error(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n'));
    process.exit(2);
  }
  const a = parsed.data;
  const api = await runningApi();
  if (api) {
    console.log(JSON.stringify(await throughApi(api, a), null, 2));
    process.exit(0);
  }
  const config = loadConfig();
  const database = await openDatabase({ url: config.DATABASE_URL, pgliteDir: config.PGLITE_DIR });
  try {
    if (a.merchant && (await database.db.select().from(merchants).where(eq(merchants.id, a.merchant))).length === 0) {
      console.error(`--merchant: no seller ${a.merchant}`);
      process.exit(2);
    }
    const id = await createPrincipal(database.db, { role: a.role, name: a.name, email: a.email, phone: a.phone, merchantId: a.merchant, supervisor: a.supervisor });
    console.log(JSON.stringify({ principalId: id, role: a.role, apiKey: await issueApiKey(database.db, id, 'cli') }, null, 2));
  } finally {
    await database.close();
  }
} catch (e) {
  console.error(e instanceof ConfigError || e instanceof TypeError || e instanceof Refused ? e.message : e);
  process.exit(2);
}
