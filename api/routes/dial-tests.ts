import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { newId } from '../../domain/ids';
import type { DebugCallResult } from '../../activities/dial-tests';
import { outboundPolicy, refuseUrl } from '../../seller-client';
import { debugCallWorkflowId } from '../../workflows/debug-call-messages';
import { dialTestCases, dialTestRuns, products } from '../../db/schema';
import type { Principal } from '../auth';
import type { RouteContext } from '../app';
import { notFound, Problem } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { withTemporalDeadline } from '../updates';
import { idParam } from '../schemas';

const ids = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);
const debugBody = z.discriminatedUnion('activity', [
  z.strictObject({ activity: z.literal('newInstance'), orderId: ids.default('CSDEBUG0000000001'), orderLineId: ids.default('CSDEBUG0000000001-000001') }),
  z.strictObject({ activity: z.literal('queryInstance'), instanceId: ids }),
]).meta({ id: 'DebugCallInput' });

export function dialTestRoutes({ router, registry, db, config, temporal }: RouteContext) {
  async function ownProduct(p: Principal, id: string) {
    const [prod] = await db.select().from(products).where(eq(products.id, id));
    if (!prod || (p.role === 'seller' && prod.merchantId !== p.merchantId)) throw notFound(`product ${id}`);
    return prod;
  }

  const result = z.object({ passed: z.boolean(), resultCode: z.string().nullable(), error: z.string().nullable(), latencyMs: z.number(), savedCaseId: z.string().nullable() });
  const run = z.object({ debugCallId: z.string(), workflowId: z.string(), status: z.enum(['running', 'done', 'failed']), result: result.nullable() }).meta({ id: 'DebugCall' });
  const callParams = z.strictObject({ id: idParam.shape.id, callId: z.string().regex(/^[A-Z0-9]{16}$/, 'malformed debug call id') });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/products/:id/debug-calls', tag: 'Dial tests', roles: ['seller'],
    summary: 'Debug the production interface with a testFlag=1 call, run by the worker: 202 with the run to follow. A passing call is saved as a case the dial tests replay (the same call once; the newest 10 per product).',
    params: idParam, body: debugBody,
    responses: {
      202: { description: 'Started; follow it at the Location', schema: run },
      404: { description: 'No such product of yours', schema: problemSchema },
      422: { description: 'The product has no production interface, or one the marketplace does not call', schema: problemSchema },
    },
    handler: async ({ res, principal, params, body }) => {
      const product = await ownProduct(principal, params.id);
      if (!product.productionUrl) throw new Problem(422, 'Unprocessable Content', 'the product has no production interface');
      // Refused before anything starts: nothing is sent and nothing is stored.
      const refused = refuseUrl(product.productionUrl, outboundPolicy(config));
      if (refused) throw new Problem(422, 'Unprocessable Content', `the marketplace does not call this production URL: ${refused}`);
      const { activity, ...fields } = body;
      const callId = newId('', 16);
      const workflowId = debugCallWorkflowId(product.id, callId);
      await withTemporalDeadline(temporal, () => temporal.workflow.start('debugCall', {
        workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, staticSummary: `Debug call ${activity} to product ${product.id}`,
        args: [{ productId: product.id, callId, activity, body: fields, at: Date.now() }],
      }));
      res.setHeader('Location', `/v1/products/${product.id}/debug-calls/${callId}`);
      return { status: 202, body: { debugCallId: callId, workflowId, status: 'running' as const, result: null } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/products/:id/debug-calls/:callId', tag: 'Dial tests', roles: ['seller', 'operator'],
    summary: 'A debug call: running, or done with its result.', params: callParams,
    responses: { 200: { description: 'The debug call', schema: run }, 404: { description: 'No such debug call of yours', schema: problemSchema } },
    handler: async ({ principal, params }) => {
      const product = await ownProduct(principal, params.id);
      const workflowId = debugCallWorkflowId(product.id, params.callId);
      const handle = temporal.workflow.getHandle(workflowId);
      const described = await withTemporalDeadline(temporal, () => handle.describe()).catch((e: Error) => { if (e.name === 'WorkflowNotFoundError') throw notFound(`debug call ${params.callId}`); throw e; });
      const view = { debugCallId: params.callId, workflowId };
      if (described.status.name === 'RUNNING') return { body: { ...view, status: 'running' as const, result: null } };
      if (described.status.name !== 'COMPLETED') return { body: { ...view, status: 'failed' as const, result: null } };
      return { body: { ...view, status: 'done' as const, result: (await withTemporalDeadline(temporal, () => handle.result())) as DebugCallResult } };
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
