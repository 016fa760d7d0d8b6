import { and, eq, inArray, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { CHECKS, failuresOf } from '../../conformance/checks';
import { conformanceRuns, products, stuckProcesses } from '../../db/schema';
import { sellerConformanceWorkflowId } from '../../workflows/seller-conformance-messages';
import type { Principal } from '../auth';
import type { RouteContext } from '../app';
import { createConformanceIntake } from '../conformance-intake';
import { keyset, pageOf, sortKey } from '../pagination';
import { notFound } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { idParam } from '../schemas';

type Run = typeof conformanceRuns.$inferSelect;
const runPages = keyset<Run>('desc', [sortKey.instant(conformanceRuns.createdAt, (r) => r.createdAt), sortKey.text(conformanceRuns.id, (r) => r.id)]);

const exchange = z.object({
  label: z.string(),
  request: z.object({ url: z.string(), body: z.string() }),
  reply: z.object({
    httpStatus: z.number().optional(), contentType: z.string().optional(), bodySign: z.string().optional(),
    body: z.string().optional().describe('credentials masked'), latencyMs: z.number(), error: z.string().optional(),
  }),
});
const check = z.object({
  id: z.enum(CHECKS.map((c) => c.id) as [string, ...string[]]), title: z.string(),
  status: z.enum(['passed', 'failed', 'warning', 'skipped']), detail: z.string(), exchanges: z.array(exchange),
});
const runSummary = z.object({
  id: z.string(), productId: z.string(), status: z.enum(['running', 'passed', 'failed']),
  requestedAt: z.string(), finishedAt: z.string().nullable(),
  counts: z.object({ passed: z.number(), failed: z.number(), warning: z.number(), skipped: z.number() }).nullable(),
  failures: z.array(z.string()).describe('"check: why" for each failed check'),
  stuck: z.object({ step: z.string(), failureType: z.string(), message: z.string(), since: z.string() }).nullable()
    .describe('set while the marketplace cannot run the kit through its own fault (operators are alerted and retry it); nothing is held against the seller'),
}).meta({ id: 'ConformanceRunSummary' });
const runView = runSummary.extend({
  options: z.object({ timeoutMs: z.number(), pollWindowMs: z.number(), pollIntervalMs: z.number(), periodic: z.boolean() }),
  checks: z.array(check).describe('each check with the requests and replies that show why'),
}).meta({ id: 'ConformanceRun' });

type Stuck = typeof stuckProcesses.$inferSelect;
const summary = (r: Run, stuck?: Stuck) => ({
  id: r.id, productId: r.productId, status: r.status, requestedAt: r.createdAt.toISOString(), finishedAt: r.finishedAt?.toISOString() ?? null,
  counts: r.report?.counts ?? null, failures: r.report ? failuresOf(r.report) : [],
  stuck: stuck ? { step: stuck.step, failureType: stuck.failureType, message: stuck.message, since: stuck.since.toISOString() } : null,
});

export function conformanceRoutes({ router, registry, db, config, temporal }: RouteContext) {
  const intake = createConformanceIntake({ db, temporal, config });
  const owns = (p: Principal, merchantId: string) => p.role === 'operator' || p.merchantId === merchantId;
  /** The open stuck records of these runs' workflows, by run id. */
  async function stuckOf(runs: Run[]): Promise<Map<string, Stuck>> {
    const running = runs.filter((r) => r.status === 'running').map((r) => sellerConformanceWorkflowId(r.id));
    if (running.length === 0) return new Map();
    const rows = await db.select().from(stuckProcesses).where(and(inArray(stuckProcesses.workflowId, running), isNull(stuckProcesses.resolvedAt)));
    return new Map(rows.map((row) => [row.subjectId, row]));
  }
  async function product(p: Principal, id: string) {
    const [row] = await db.select().from(products).where(eq(products.id, id));
    if (!row || !owns(p, row.merchantId)) throw notFound(`product ${id}`);
    return row;
  }

  defineRoute(router, registry, {
    method: 'post', path: '/v1/products/:id/conformance-runs', tag: 'Conformance', roles: ['seller'],
    summary: 'Run the seller conformance kit against the product\'s production interface (calls marked testFlag=1, nothing charged). ' +
      'Answers 202 with the run to follow; while a run is under way, 200 with that run.',
    params: idParam, body: z.strictObject({}),
    responses: {
      202: { description: 'The run, started', schema: runSummary },
      200: { description: 'The run already under way', schema: runSummary },
      404: { description: 'No such product of yours', schema: problemSchema },
      409: { description: 'Not a SaaS product with a production interface', schema: problemSchema },
    },
    handler: async ({ principal, params, res }) => {
      const { run, created } = await intake.request(await product(principal, params.id), principal.id);
      res.setHeader('Location', `/v1/conformance-runs/${run.id}`);
      return { status: created ? 202 : 200, body: summary(run, (await stuckOf([run])).get(run.id)) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/products/:id/conformance-runs', tag: 'Conformance', roles: ['seller', 'operator'],
    summary: 'The latest conformance runs of a product, newest first.', params: idParam,
    query: z.strictObject({ ...runPages.query }),
    responses: { 200: { description: 'Runs', schema: pageOf(runSummary) }, 404: { description: 'No such product of yours', schema: problemSchema } },
    handler: async ({ principal, params, query }) => {
      const prod = await product(principal, params.id);
      const { rows, nextCursor } = await runPages.read(query, ({ after, orderBy, limit }) =>
        db.select().from(conformanceRuns).where(and(eq(conformanceRuns.productId, prod.id), after)).orderBy(...orderBy).limit(limit));
      const stuck = await stuckOf(rows);
      return { body: { items: rows.map((r) => summary(r, stuck.get(r.id))), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conformance-runs/:id', tag: 'Conformance', roles: ['seller', 'operator'],
    summary: 'One conformance run with its report: each check, and the requests and replies behind it.', params: idParam,
    responses: { 200: { description: 'The run', schema: runView }, 404: { description: 'No such run of yours', schema: problemSchema } },
    handler: async ({ principal, params }) => {
      const [run] = await db.select().from(conformanceRuns).where(eq(conformanceRuns.id, params.id));
      if (!run || !owns(principal, run.merchantId)) throw notFound(`conformance run ${params.id}`);
      return { body: { ...summary(run, (await stuckOf([run])).get(run.id)), options: run.options, checks: run.report?.checks ?? [] } };
    },
  });
}
