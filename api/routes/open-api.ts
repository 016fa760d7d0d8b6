import { and, eq, lt } from 'drizzle-orm';
import type { Request } from 'express';
import { z } from 'zod';
import { openApiNonces, orderLines, orders, principals, products, skus } from '../../db/schema';
import { OPEN_API_HEADERS, verifyOpenApiCall } from '../../domain/open-api-signing';
import { addPeriods, sellerTime } from '../../domain/periods';
import { secretBoxOf } from '../../config';
import type { RouteContext } from '../app';
import { notFound, Problem } from '../problem';
import { defineRoute, problemSchema } from '../route';

export const QUERY_ORDER_PATH = '/api/mkp-openapi-public/global/v1/order/query';
const NONCE_TTL_MS = 10 * 60_000;
const unauthorized = (detail: string) => new Problem(401, 'Unauthorized', detail);

/** `yyyyMMddHHmmss` in UTC, the spec's DateTime(20) format. */
const stamp = sellerTime;
/** The line's expiry once delivered; before that, what the period would give from the order's time. */
const expiryOf = (expiresAt: Date | null, from: Date, mode: string, n: number): Date | null =>
  mode !== 'monthly' && mode !== 'yearly' ? null : expiresAt ?? addPeriods(from, mode === 'yearly' ? 'year' : 'month', n);

const orderInfo = z.object({
  resultCode: z.string(), resultMsg: z.string(),
  orderInfo: z.object({
    orderId: z.string(), orderType: z.enum(['NEW']), createTime: z.string(),
    orderLine: z.array(z.object({
      orderLineId: z.string(), chargingMode: z.enum(['PERIOD', 'ONE_TIME', 'ON_DEMAND']), productId: z.string(), skuCode: z.string(),
      periodType: z.enum(['month', 'year']).nullable(), periodNumber: z.number().nullable(), expireTime: z.string().nullable(),
    })),
    buyerInfo: z.object({ customerId: z.string(), customerName: z.string() }),
  }),
}).meta({ id: 'QueryOrderResponse' });

/** Open APIs that sellers call, signed with their product's access key (domain/open-api-signing.ts). */
export function openApiRoutes({ router, registry, db, config }: RouteContext) {
  registry.registerComponent('securitySchemes', 'sellerHmac', {
    type: 'apiKey', in: 'header', name: 'X-Signature',
    description: 'Seller HMAC under the product\'s access key. Headers: X-Access-Key-Id (product id), X-Timestamp (epoch ms, ±60 s), X-Nonce (16–64 alphanumerics, once per key), X-Signature = upper-hex HMAC-SHA256(accessKey, METHOD\\nPATH\\nSORTED_QUERY\\nTIMESTAMP\\nNONCE), SORTED_QUERY = k=v&… sorted by name, RFC 3986-encoded.',
  });

  /** The product whose key signed the call; 401 for anything forged, stale or replayed. */
  async function authenticateSeller(req: Request, query: Record<string, string>) {
    const keyId = req.get(OPEN_API_HEADERS.keyId);
    if (!keyId || !/^[A-Z0-9]{4,40}$/.test(keyId)) throw unauthorized('missing or malformed X-Access-Key-Id');
    const [product] = await db.select().from(products).where(eq(products.id, keyId));
    if (!product?.accessKeyEnc || !config.MASTER_KEY) throw unauthorized('unknown access key');
    const verdict = verifyOpenApiCall(secretBoxOf(config)!.open(product.accessKeyEnc), req.method, req.path, query, {
      timestamp: req.get(OPEN_API_HEADERS.timestamp), nonce: req.get(OPEN_API_HEADERS.nonce), signature: req.get(OPEN_API_HEADERS.signature),
    }, Date.now());
    if (!verdict.ok) throw unauthorized(`signature check failed: ${verdict.reason}`);
    await db.delete(openApiNonces).where(lt(openApiNonces.seenAt, new Date(Date.now() - NONCE_TTL_MS)));
    const fresh = await db.insert(openApiNonces).values({ keyId, nonce: req.get(OPEN_API_HEADERS.nonce)! }).onConflictDoNothing().returning();
    if (fresh.length === 0) throw unauthorized('signature check failed: replayed nonce');
    return product;
  }

  defineRoute(router, registry, {
    method: 'get', path: QUERY_ORDER_PATH, tag: 'Seller open API', roles: 'public', security: [{ sellerHmac: [] }],
    summary: 'Query Order: what the buyer bought, for the seller to provision. A seller reads only its own lines; other orders are 404.',
    query: z.strictObject({ orderId: z.string().regex(/^CS[A-Z0-9]{8,30}$/), orderLineId: z.string().regex(/^CS[A-Z0-9]{8,30}-\d{6}$/).optional() }),
    responses: { 200: { description: 'The order', schema: orderInfo }, 401: { description: 'Forged, stale or replayed call', schema: problemSchema }, 404: { description: 'No such order of this seller', schema: problemSchema } },
    handler: async ({ req, query }) => {
      const product = await authenticateSeller(req, Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as Record<string, string>);
      const [order] = await db.select({ order: orders, buyer: principals }).from(orders).innerJoin(principals, eq(principals.id, orders.buyerPrincipalId)).where(eq(orders.id, query.orderId));
      const lines = order ? await db.select({ line: orderLines, sku: skus }).from(orderLines).innerJoin(skus, eq(skus.id, orderLines.skuId))
        .where(and(eq(orderLines.orderId, query.orderId), eq(orderLines.merchantId, product.merchantId), query.orderLineId ? eq(orderLines.id, query.orderLineId) : undefined)) : [];
      if (!order || lines.length === 0) throw notFound(`order ${query.orderId}`);
      return {
        body: {
          resultCode: '000000', resultMsg: 'success',
          orderInfo: {
            orderId: order.order.id, orderType: 'NEW', createTime: stamp(order.order.createdAt),
            orderLine: lines.map(({ line, sku }) => {
              const expires = expiryOf(line.expiresAt, order.order.createdAt, sku.chargingMode, sku.periods);
              return {
                orderLineId: line.id, productId: line.productId, skuCode: sku.id,
                chargingMode: sku.chargingMode === 'on_demand' ? 'ON_DEMAND' as const : sku.chargingMode === 'one_time' ? 'ONE_TIME' as const : 'PERIOD' as const,
                periodType: sku.chargingMode === 'monthly' ? 'month' as const : sku.chargingMode === 'yearly' ? 'year' as const : null,
                periodNumber: expires ? sku.periods : null, expireTime: expires ? stamp(expires) : null,
              };
            }),
            buyerInfo: { customerId: order.buyer.id, customerName: order.buyer.name },
          },
        },
      };
    },
  });
}
