import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { runDebugCall, saveDialCase } from '../../activities/dial-tests';
import { createSellerClient } from '../../seller-client';
import { dialTestCases, dialTestRuns, products } from '../../db/schema';
import type { Principal } from '../auth';
import type { RouteContext } from '../app';
import { notFound } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { idParam } from '../schemas';

const ids = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);
const debugBody = z.discriminatedUnion('activity', [
  z.strictObject({ activity: z.literal('newInstance'), orderId: ids.default('CSDEBUG0000000001'), orderLineId: ids.default('CSDEBUG0000000001-000001') }),
  z.strictObject({ activity: z.literal('queryInstance'), instanceId: ids }),
]).meta({ id: 'DebugCallInput' });

export function dialTestRoutes({ router, registry, db, config }: RouteContext) {
  const sellers = createSellerClient({ db, config });
  async function ownProduct(p: Principal, id: string) {
    const [prod] = await db.select().from(products).where(eq(products.id, id));
    if (!prod || (p.role === 'seller' && prod.merchantId !== p.merchantId)) throw notFound(`product ${id}`);
    return prod;
  }

  defineRoute(router, registry, {
    method: 'post', path: '/v1/products/:id/debug-calls', tag: 'Dial tests', roles: ['seller'],
    summary: 'Debug the production interface with a testFlag=1 call. A passing call is saved as a case the dial tests replay (the same call once; the newest 10 per product).',
    params: idParam, body: debugBody,
    responses: {
      200: { description: 'The result', schema: z.object({ passed: z.boolean(), resultCode: z.string().nullable(), error: z.string().nullable(), latencyMs: z.number(), savedCaseId: z.string().nullable() }) },
      404: { description: 'No such product of yours', schema: problemSchema },
    },
    handler: async ({ principal, params, body }) => {
      const product = await ownProduct(principal, params.id);
      const { activity, ...fields } = body;
      const r = await runDebugCall(sellers, product, activity, fields, new Date());
      // The same call saved twice is one case; a product keeps its newest MAX_DIAL_CASES.
      const savedCaseId = r.passed ? await saveDialCase(db, product.id, activity, fields) : null;
      return { body: { passed: r.passed, resultCode: r.resultCode ?? null, error: r.error ?? null, latencyMs: r.latencyMs, savedCaseId } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/products/:id/dial-tests', tag: 'Dial tests', roles: ['seller', 'operator'],
    summary: 'Saved dial-test cases and the latest runs of a product.', params: idParam,
    responses: { 200: { description: 'Cases and runs', schema: z.object({ tradingFrozen: z.boolean(), cases: z.array(z.record(z.string(), z.unknown())), runs: z.array(z.record(z.string(), z.unknown())) }) }, 404: { description: 'No such product of yours', schema: problemSchema } },
    handler: async ({ principal, params }) => {
      const product = await ownProduct(principal, params.id);
      const cases = await db.select().from(dialTestCases).where(eq(dialTestCases.productId, product.id));
      const runs = await db.select().from(dialTestRuns).where(eq(dialTestRuns.productId, product.id)).orderBy(desc(dialTestRuns.at)).limit(60);
      return { body: {
        tradingFrozen: product.tradingFrozen,
        cases: cases.map((c) => ({ id: c.id, activity: c.activity, body: c.body, createdAt: c.createdAt.toISOString() })),
        runs: runs.map((r) => ({ day: r.day, passed: r.passed, details: r.details, at: r.at.toISOString() })),
      } };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/products/:id/unfreeze', tag: 'Dial tests', roles: ['operator'],
    summary: 'Lift a dial-test freeze: the product trades and shows again.', params: idParam, body: z.strictObject({}),
    responses: { 200: { description: 'Lifted', schema: z.object({ id: z.string(), tradingFrozen: z.boolean() }) }, 404: { description: 'No such product', schema: problemSchema } },
    handler: async ({ params }) => {
      const [row] = await db.update(products).set({ tradingFrozen: false, updatedAt: new Date() }).where(eq(products.id, params.id)).returning();
      if (!row) throw notFound(`product ${params.id}`);
      return { body: { id: row.id, tradingFrozen: row.tradingFrozen } };
    },
  });
}
