import { and, eq, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { balanceOf, topUp } from '../../db/ledger';
import { principals, products, skus } from '../../db/schema';
import { newId } from '../../domain/ids';
import { createSecretBox } from '../../domain/secret-box';
import { ALWAYS_SUPERVISED, MAY_BE_SUPERVISED, PROOF_KINDS, type ProductKind } from '../../domain/supervision';
import type { Principal } from '../auth';
import type { RouteContext } from '../app';
import { conflict, notFound, Problem } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { idempotencyHeaders, idParam } from '../schemas';

type Product = typeof products.$inferSelect;
const DEFAULT_TEMPLATE = ['statement_of_work', 'acceptance_document'] as const;
const isSupervised = (p: { deliveryType: ProductKind; supervised?: boolean | undefined }) => p.supervised ?? ALWAYS_SUPERVISED.includes(p.deliveryType);
const skuInput = z.strictObject({
  name: z.string().trim().min(1).max(100),
  chargingMode: z.enum(['yearly', 'monthly', 'one_time', 'on_demand']),
  periods: z.number().int().min(1).max(60).default(1),
  priceCents: z.number().int().min(0).max(100_000_000),
});
const productInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  deliveryType: z.enum(['saas', 'image', 'license', 'manual_service', 'hardware', 'api']),
  productionUrl: z.url({ protocol: /^https?$/ }).max(512).optional(),
  accessKey: z.string().min(16, 'at least 16 characters').max(256).optional(),
  skus: z.array(skuInput).min(1).max(50),
  supervised: z.boolean().optional().describe('service supervision (docs/supervision.md): always for licences, manual services and hardware, chosen for SaaS, never for images and APIs; fixed once listed'),
  deliveryTemplate: z.array(z.enum(PROOF_KINDS)).max(PROOF_KINDS.length).optional().describe('supervised products: the proof kinds every delivery must include (default statement_of_work and acceptance_document)'),
}).refine((p) => p.deliveryType !== 'saas' || (p.productionUrl && p.accessKey), { message: 'a SaaS product needs productionUrl and accessKey', path: ['productionUrl'] })
  .refine((p) => p.supervised !== false || !ALWAYS_SUPERVISED.includes(p.deliveryType), { message: 'licences, manual services and hardware are always supervised', path: ['supervised'] })
  .refine((p) => !p.supervised || MAY_BE_SUPERVISED.includes(p.deliveryType), { message: 'images and APIs are not supervised', path: ['supervised'] })
  .refine((p) => !p.deliveryTemplate || isSupervised(p), { message: 'only a supervised product has a delivery template', path: ['deliveryTemplate'] })
  .meta({ id: 'ProductInput' });
const productView = z.object({
  id: z.string(), merchantId: z.string(), name: z.string(), deliveryType: z.string(), status: z.string(), tradingFrozen: z.boolean(),
  productionUrl: z.string().nullable().describe('shown to the seller and operators only; the access key is never shown'),
  supervised: z.boolean(), deliveryTemplate: z.array(z.string()),
  skus: z.array(z.object({ id: z.string(), name: z.string(), chargingMode: z.string(), periods: z.number(), priceCents: z.number() })),
  conformance: z.object({ passedRunId: z.string().nullable(), passedAt: z.string().nullable() }).nullable()
    .describe('SaaS products, to the seller and operators only: the latest passing conformance run (null ids: none yet), shown when an operator puts the product on sale'),
}).meta({ id: 'Product' });

export function catalogRoutes({ router, registry, db, config }: RouteContext) {
  const seesAll = (p: Principal, prod: Product) => p.role === 'operator' || (p.role === 'seller' && p.merchantId === prod.merchantId);
  async function view(p: Principal, prod: Product) {
    const rows = await db.select().from(skus).where(eq(skus.productId, prod.id));
    return {
      id: prod.id, merchantId: prod.merchantId, name: prod.name, deliveryType: prod.deliveryType, status: prod.status, tradingFrozen: prod.tradingFrozen,
      productionUrl: seesAll(p, prod) ? prod.productionUrl : null, supervised: prod.supervised, deliveryTemplate: prod.deliveryTemplate,
      skus: rows.map(({ id, name, chargingMode, periods, priceCents }) => ({ id, name, chargingMode, periods, priceCents })),
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
    responses: { 201: { description: 'The product', schema: productView } },
    handler: async ({ principal, body }) => {
      if (body.deliveryType === 'saas' && !config.MASTER_KEY) throw new Problem(503, 'Service Unavailable', 'MASTER_KEY is not configured, so access keys cannot be stored');
      const id = newId('PR', 14);
      const prod = await db.transaction(async (tx) => {
        const [row] = await tx.insert(products).values({
          id, merchantId: principal.merchantId!, name: body.name, deliveryType: body.deliveryType, status: 'draft',
          supervised: isSupervised(body), deliveryTemplate: isSupervised(body) ? [...new Set(body.deliveryTemplate ?? DEFAULT_TEMPLATE)] : [],
          productionUrl: body.productionUrl ?? null, accessKeyEnc: body.accessKey ? createSecretBox(config.MASTER_KEY!).seal(body.accessKey) : null,
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
    responses: { 200: { description: 'Products', schema: z.object({ items: z.array(productView) }) } },
    handler: async ({ principal }) => {
      const where: SQL | undefined = principal.role === 'operator' ? undefined
        : principal.role === 'seller' ? eq(products.merchantId, principal.merchantId!)
          : and(eq(products.status, 'on_sale'), eq(products.tradingFrozen, false));
      const rows = await db.select().from(products).where(where);
      return { body: { items: await Promise.all(rows.map((r) => view(principal, r))) } };
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
