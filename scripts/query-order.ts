/**
 * `npm run query-order -- ORDER_ID [ORDER_LINE_ID]`: calls Query Order as a seller would, signed with
 * the product's access key (domain/open-api-signing.ts). Reads SELLER_KEY_ID (product id) and
 * SELLER_ACCESS_KEY from the environment; MARKETPLACE_URL defaults to http://127.0.0.1:3000.
 */
import { z } from 'zod';
import { signOpenApiCall } from '../domain/open-api-signing';

const QUERY_ORDER_PATH = '/api/mkp-openapi-public/global/v1/order/query';
const env = z.object({
  SELLER_KEY_ID: z.string().min(1), SELLER_ACCESS_KEY: z.string().min(1), MARKETPLACE_URL: z.url().default('http://127.0.0.1:3000'),
}).safeParse(process.env);
const [orderId, orderLineId] = process.argv.slice(2);
if (!env.success || !orderId) {
  console.error(`usage: SELLER_KEY_ID=… SELLER_ACCESS_KEY=… npm run query-order -- ORDER_ID [ORDER_LINE_ID]\n${env.success ? '' : env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')}`);
  process.exit(2);
}
const query: Record<string, string> = { orderId, ...(orderLineId ? { orderLineId } : {}) };
const headers = signOpenApiCall(env.data.SELLER_ACCESS_KEY, env.data.SELLER_KEY_ID, 'GET', QUERY_ORDER_PATH, query, Date.now());
const res = await fetch(`${env.data.MARKETPLACE_URL}${QUERY_ORDER_PATH}?${new URLSearchParams(query)}`, { headers });
console.log(JSON.stringify(await res.json(), null, 2));
process.exit(res.ok ? 0 : 1);
