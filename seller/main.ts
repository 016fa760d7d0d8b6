/**
 * Runs the reference seller on its own, e.g. `SELLER_ACCESS_KEY=… npm run seller -- [fault switches]`,
 * so the marketplace (or the conformance kit) can be pointed at a seller that behaves as the spec
 * asks, or that makes one chosen mistake (`--help` lists the switches). With SELLER_MARKETPLACE_URL
 * (e.g. http://127.0.0.1:3000) and SELLER_KEY_ID (the product id of SELLER_ACCESS_KEY) it confirms
 * each new order line with the marketplace's Query Order before provisioning it.
 */
import { z } from 'zod';
import { describeFaults, FAULT_FLAGS, parseFaultArgs, type SellerFaults } from './faults';
import { startReferenceSeller } from './server';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: SELLER_ACCESS_KEY=… npm run seller -- [switches]\n\nFault switches (each is one mistake the conformance kit catches):');
  for (const f of FAULT_FLAGS) console.log(`  --${f.flag}${f.value ? ' MS' : ''}`.padEnd(32) + f.help);
  process.exit(0);
}
let faults: SellerFaults;
try {
  faults = parseFaultArgs(args);
} catch (e) {
  console.error(`${(e as Error).message} (--help lists the switches)`);
  process.exit(2);
}

const schema = z.object({
  SELLER_ACCESS_KEY: z.string().min(1),
  SELLER_PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  SELLER_MODE: z.enum(['sync', 'async']).default('sync'),
  SELLER_ASYNC_DELAY_MS: z.coerce.number().int().min(0).default(2000),
  // Set both to confirm each new order line with the marketplace's Query Order before provisioning it.
  SELLER_MARKETPLACE_URL: z.url({ protocol: /^https?$/ }).optional(),
  SELLER_KEY_ID: z.string().min(1).optional(),
}).refine((e) => (e.SELLER_MARKETPLACE_URL === undefined) === (e.SELLER_KEY_ID === undefined), {
  message: 'set both SELLER_MARKETPLACE_URL and SELLER_KEY_ID, or neither',
  path: ['SELLER_MARKETPLACE_URL'],
});

// Empty strings mean "unset", as in config.ts: shells and compose files often export VAR= .
const parsed = schema.safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v)));
if (!parsed.success) {
  console.error(`invalid seller configuration:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  process.exit(2);
}
const env = parsed.data;
const queryOrder = env.SELLER_MARKETPLACE_URL && env.SELLER_KEY_ID
  ? { baseUrl: env.SELLER_MARKETPLACE_URL.replace(/\/+$/, ''), keyId: env.SELLER_KEY_ID }
  : undefined;
const seller = await startReferenceSeller({
  accessKey: env.SELLER_ACCESS_KEY, port: env.SELLER_PORT, mode: env.SELLER_MODE, asyncDelayMs: env.SELLER_ASYNC_DELAY_MS, queryOrder, faults,
});
const on = describeFaults(faults);
console.log(`reference seller (${env.SELLER_MODE}) at ${seller.url}${queryOrder ? `, confirming orders with ${queryOrder.baseUrl} as ${queryOrder.keyId}` : ''}${on.length ? `, faults: ${on.join(' ')}` : ''}`);

const stop = () => void seller.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
