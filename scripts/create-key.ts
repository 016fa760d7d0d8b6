/**
 * `npm run keys:create -- --role operator|buyer|seller --name NAME [--email E] [--phone P] [--merchant ID] [--supervisor]`
 * Creates a principal and prints its API key once; only the key's SHA-256 is stored.
 * With the embedded database (no DATABASE_URL), run it while `make start` is stopped: PGlite has one owner at a time.
 */
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { createPrincipal, issueApiKey } from '../api/auth';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { merchants } from '../db/schema';

const args = z.object({
  role: z.enum(['buyer', 'seller', 'operator']),
  name: z.string().min(1).max(100),
  email: z.email().optional(),
  phone: z.string().regex(/^\+?[1-9]\d{6,14}$/).optional(),
  merchant: z.string().optional(),
  supervisor: z.boolean().default(false),
}).refine((a) => a.role !== 'seller' || a.merchant, { message: 'a seller key needs --merchant', path: ['merchant'] })
  .refine((a) => !a.supervisor || a.role === 'operator', { message: 'only operators can be supervisors', path: ['supervisor'] });

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
  console.error(e instanceof ConfigError || e instanceof TypeError ? e.message : e);
  process.exit(2);
}
