/**
 * Runs the reference seller on its own, e.g. `SELLER_ACCESS_KEY=… npx tsx seller/main.ts`, so the
 * marketplace can be pointed at a seller that behaves as the spec asks.
 */
import { z } from 'zod';
import { startReferenceSeller } from './server';

const schema = z.object({
  SELLER_ACCESS_KEY: z.string().min(1),
  SELLER_PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  SELLER_MODE: z.enum(['sync', 'async']).default('sync'),
  SELLER_ASYNC_DELAY_MS: z.coerce.number().int().min(0).default(2000),
});

// Empty strings mean "unset", as in config.ts: shells and compose files often export VAR= .
const parsed = schema.safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v)));
if (!parsed.success) {
  console.error(`invalid seller configuration:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  process.exit(2);
}
const env = parsed.data;
const seller = await startReferenceSeller({ accessKey: env.SELLER_ACCESS_KEY, port: env.SELLER_PORT, mode: env.SELLER_MODE, asyncDelayMs: env.SELLER_ASYNC_DELAY_MS });
console.log(`reference seller (${env.SELLER_MODE}) at ${seller.url}`);

const stop = () => void seller.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
