import { and, eq, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { secretBoxOf } from '../../config';
import { outboundPolicy, refuseUrl } from '../../seller-client';
import { balanceOf, topUp } from '../../db/ledger';
import { principals, products, skus } from '../../db/schema';
import { newId } from '../../domain/ids';
import { ALWAYS_SUPERVISED, PROOF_KINDS, type ProductKind } from '../../domain/supervision';
import type { Principal } from '../auth';
import type { RouteContext } from '../app';
import { keyset, pageOf, sortKey } from '../pagination';
import { conflict, notFound, Problem } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { httpUrl, idempotencyHeaders, idParam, text } from '../schemas';

type Product = typeof products.$inferSelect;
const productPages = keyset<Product>('asc', [sortKey.text(products.id, (p) => p.id)]);
const DEFAULT_TEMPLATE = ['statement_of_work', 'acceptance_document'] as const;
const isSupervised = (p: { deliveryType: ProductKind; supervised?: boolean | undefined }) => p.supervised ?? ALWAYS_SUPERVISED.includes(p.deliveryType);
// A monthly or yearly SKU may be a trial; the others may not (one schema each, so the document states it).
const skuBase = {
  name: text(100),
  periods: z.number().int().min(1).max(60).default(1),
  priceCents: z.number().int().min(0).max(100_000_000),
};
const skuInput = z.union([
  z.strictObject({
    ...skuBase, chargingMode: z.enum(['yearly', 'monthly']),
    trialDays: z.number().int().min(1).max(90).optional().describe('a trial SKU: free for this many days, then released unless converted at priceCents a term'),
  }),
  z.strictObject({ ...skuBase, chargingMode: z.enum(['one_time', 'on_demand']) }),
]);
const productBase = { name: text(200), skus: z.array(skuInput).min(1).max(50) };
const deliveryTemplate = z.array(z.enum(PROOF_KINDS)).max(PROOF_KINDS.length).optional()
  .describe('supervised products: the proof kinds every delivery must include (default statement_of_work and acceptance_document)');
// A SaaS product names its production interface and access key; other kinds have none. Service supervision
// (docs/supervision.md) is always on for licences, manual services and hardware, chosen for SaaS, never on for
// images and APIs, and fixed once listed. One schema each, so the document states it.
const productInput = z.discriminatedUnion('deliveryType', [
  z.strictObject({
    ...productBase, deliveryType: z.literal('saas'), productionUrl: httpUrl, accessKey: z.string().min(16, 'at least 16 characters').max(256),
    supervised: z.boolean().optional().describe('delivered through service supervision instead of the production interface (default false)'), deliveryTemplate,
  }),
  z.strictObject({ ...productBase, deliveryType: z.enum(['license', 'manual_service', 'hardware']), supervised: z.literal(true).optional().describe('always supervised'), deliveryTemplate }),
  z.strictObject({ ...productBase, deliveryType: z.enum(['image', 'api']), supervised: z.literal(false).optional().describe('never supervised') }),
]).meta({ id: 'ProductInput' });
const productView = z.object({
  id: z.string(), merchantId: z.string(), name: z.string(), deliveryType: z.string(), status: z.string(), tradingFrozen: z.boolean(),
  productionUrl: z.string().nullable().describe('shown to the seller and operators only; the access key is never shown'),
  bodySign: z.object({
    required: z.boolean().describe('a reply without a Body-Sign is refused (a wrong one always is)'),
    lastReplySigned: z.boolean().nullable().describe('whether the latest reply carried a valid Body-Sign; null before the first'),
  }).nullable().describe('SaaS products, shown to the seller and operators'),
  supervised: z.boolean(), deliveryTemplate: z.array(z.string()),
  skus: z.array(z.object({ id: z.string(), name: z.string(), chargingMode: z.string(), periods: z.number(), priceCents: z.number(), trialDays: z.number().nullable() })),
  conformance: z.object({ passedRunId: z.string().nullable(), passedAt: z.string().nullable() }).nullable()
    .describe('SaaS products, to the seller and operators only: the latest passing conformance run (null ids: none yet), shown when an operator puts the product on sale'),
}).meta({ id: 'Product' });

export function catalogRoutes({ router, registry, db, config }: RouteContext) {
  const seesAll = (p: Principal, prod: Product) => p.role === 'operator' || (p.role === 'seller' && p.merchantId === prod.merchantId);
  async function view(p: Principal, prod: Product) {
    const rows = await db.select().from(skus).where(eq(skus.productId, prod.id));
    return {
      id: prod.id, merchantId: prod.merchantId, name: prod.name, deliveryType: prod.deliveryType, status: prod.status, tradingFrozen: prod.tradingFrozen,
      productionUrl: seesAll(p, prod) ? prod.productionUrl : null,
      bodySign: seesAll(p, prod) && prod.deliveryType === 'saas' ? { required: prod.requireBodySign, lastReplySigned: prod.repliesSigned } : null,
      supervised: prod.supervised, deliveryTemplate: prod.deliveryTemplate,
      skus: rows.map(({ id, name, chargingMode, periods, priceCents, trialDays }) => ({ id, name, chargingMode, periods, priceCents, trialDays })),
      conformance: seesAll(p, prod) && prod.deliveryType === 'saas'
        ? { passedRunId: prod.conformanceRunId, passedAt: prod.conformancePassedAt?.toISOString() ?? null } : null,
    };
  }
  /** Buyers see products on sale and not frozen; a seller its own; operators all. Anything else is 404. */
  async function visible(p: Principal, id: string) {
    const [prod] = await db.select().from(products).where(eq(products.id, id));
    if (!prod || !(seesAll(p, prod) || (prod.status === 'on_sale' && !prod.tradingFrozen))) throw notFound(`product ${id}`);
    return prod;
  }

  defineRoute(router, registry, {
    method: 'post', path: '/v1/products', tag: 'Catalog', roles: ['seller'],
    summary: 'Create a product (draft) with its SKUs. A SaaS product names its production interface and access key; the key is stored encrypted.',
    body: productInput,
    responses: {
      201: { description: 'The product', schema: productView },
      422: { description: 'A production URL the marketplace does not call (not https, or a loopback, private, link-local or metadata address), or a delivery template on a product that is not supervised', schema: problemSchema },
    },
    handler: async ({ principal, body }) => {
      if (body.deliveryType === 'saas' && !config.MASTER_KEY) throw new Problem(503, 'Service Unavailable', 'MASTER_KEY is not configured, so access keys cannot be stored');
      const refused = body.deliveryType === 'saas' ? refuseUrl(body.productionUrl, outboundPolicy(config)) : undefined;
      if (refused) throw new Problem(422, 'Unprocessable Content', 'the marketplace does not call this production URL', [{ field: 'body.productionUrl', message: refused }]);
      const supervised = isSupervised(body);
      const template = 'deliveryTemplate' in body ? body.deliveryTemplate : undefined;
      if (template && !supervised) throw new Problem(422, 'Unprocessable Content', 'only a supervised product has a delivery template', [{ field: 'body.deliveryTemplate', message: 'send supervised: true with it' }]);
      const id = newId('PR', 14);
      const prod = await db.transaction(async (tx) => {
        const [row] = await tx.insert(products).values({
          id, merchantId: principal.merchantId!, name: body.name, deliveryType: body.deliveryType, status: 'draft',
          supervised, deliveryTemplate: supervised ? [...new Set(template ?? DEFAULT_TEMPLATE)] : [],
          productionUrl: body.deliveryType === 'saas' ? body.productionUrl : null,
          accessKeyEnc: body.deliveryType === 'saas' ? secretBoxOf(config)!.seal(body.accessKey) : null,
        }).returning();
        await tx.insert(skus).values(body.skus.map((s) => ({ id: newId('SK', 14), productId: id, ...s })));
        return row!;
      });
      return { status: 201, body: await view(principal, prod) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/products', tag: 'Catalog', roles: ['buyer', 'seller', 'operator'],
    summary: 'Products: on sale for buyers, own for sellers, all for operators.',
    query: z.strictObject({ ...productPages.query }),
    responses: { 200: { description: 'Products, by id', schema: pageOf(productView) } },
    handler: async ({ principal, query }) => {
      const where: SQL | undefined = principal.role === 'operator' ? undefined
        : principal.role === 'seller' ? eq(products.merchantId, principal.merchantId!)
          : and(eq(products.status, 'on_sale'), eq(products.tradingFrozen, false));
      const { rows, nextCursor } = await productPages.read(query, ({ after, orderBy, limit }) =>
        db.select().from(products).where(and(where, after)).orderBy(...orderBy).limit(limit));
      return { body: { items: await Promise.all(rows.map((r) => view(principal, r))), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/products/:id', tag: 'Catalog', roles: ['buyer', 'seller', 'operator'],
    summary: 'One product.', params: idParam,
    responses: { 200: { description: 'The product', schema: productView }, 404: { description: 'No such product for you', schema: problemSchema } },
    handler: async ({ principal, params }) => ({ body: await view(principal, await visible(principal, params.id)) }),
  });

  for (const [verb, status] of [['on-sale', 'on_sale'], ['stop-sale', 'stopped']] as const) {
    defineRoute(router, registry, {
      method: 'post', path: `/v1/products/:id/${verb}`, tag: 'Catalog', roles: ['operator'],
      summary: verb === 'on-sale' ? 'Put a product on sale.' : 'Stop the sale of a product; running orders go on.', params: idParam,
      responses: { 200: { description: 'The product', schema: productView }, 404: { description: 'No such product', schema: problemSchema } },
      handler: async ({ principal, params }) => {
        const [row] = await db.update(products).set({ status, updatedAt: new Date() }).where(eq(products.id, params.id)).returning();
        if (!row) throw notFound(`product ${params.id}`);
        return { body: await view(principal, row) };
      },
    });
  }

  defineRoute(router, registry, {
    method: 'put', path: '/v1/products/:id/body-sign', tag: 'Catalog', roles: ['operator'],
    summary: 'Require (or stop requiring) a Body-Sign on the replies of a SaaS product\'s production interface. A wrong Body-Sign is always refused.',
    params: idParam, body: z.strictObject({ required: z.boolean() }),
    responses: { 200: { description: 'The product', schema: productView }, 404: { description: 'No such SaaS product', schema: problemSchema } },
    handler: async ({ principal, params, body }) => {
      const [row] = await db.update(products).set({ requireBodySign: body.required, updatedAt: new Date() })
        .where(and(eq(products.id, params.id), eq(products.deliveryType, 'saas'))).returning();
      if (!row) throw notFound(`SaaS product ${params.id}`);
      return { body: await view(principal, row) };
    },
  });

  const account = z.object({ principalId: z.string(), balanceCents: z.number().int() }).meta({ id: 'Account' });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/account', tag: 'Accounts', roles: ['buyer'], summary: 'My account balance (kept from the ledger\'s entries; GET /v1/bills lists them).',
    responses: { 200: { description: 'Balance', schema: account } },
    handler: async ({ principal }) => ({ body: { principalId: principal.id, balanceCents: await balanceOf(db, principal.id) } }),
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/accounts/:id/top-up', tag: 'Accounts', roles: ['operator'],
    summary: "Credit a buyer's balance (stands in for the payment system). The same Idempotency-Key credits once.", params: idParam,
    headers: idempotencyHeaders, body: z.strictObject({ amountCents: z.number().int().min(1).max(1_000_000_000) }),
    responses: { 200: { description: 'New balance', schema: account }, 409: { description: 'Not a buyer', schema: problemSchema } },
    handler: async ({ req, params, body }) => {
      const [p] = await db.select({ role: principals.role }).from(principals).where(eq(principals.id, params.id));
      if (p?.role !== 'buyer') throw conflict(`${params.id} is not a buyer`);
      const given = req.get('idempotency-key');
      await topUp(db, { key: `top-up:${params.id}:${given ?? newId('', 20)}`, buyerId: params.id, amountCents: body.amountCents });
      return { body: { principalId: params.id, balanceCents: await balanceOf(db, params.id) } };
    },
  });

  defineRoute(router, registry, {
    method: 'put', path: '/v1/products/:id/commission', tag: 'Catalog', roles: ['operator'],
    summary: "Set the marketplace's commission on a product's sales, in basis points (1000 = 10%); it applies to sales settled from now on.",
    params: idParam, body: z.strictObject({ rateBp: z.number().int().min(0).max(10_000) }),
    responses: { 200: { description: 'The rate', schema: z.object({ productId: z.string(), rateBp: z.number().int() }) }, 404: { description: 'No such product', schema: problemSchema } },
    handler: async ({ params, body }) => {
      const [row] = await db.update(products).set({ commissionRateBp: body.rateBp, updatedAt: new Date() }).where(eq(products.id, params.id)).returning();
      if (!row) throw notFound(`product ${params.id}`);
      return { body: { productId: row.id, rateBp: row.commissionRateBp } };
    },
  });
}
