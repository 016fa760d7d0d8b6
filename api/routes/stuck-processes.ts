import { and, eq, isNull, isNotNull } from 'drizzle-orm';
import { z } from 'zod';
import { stuckProcesses } from '../../db/schema';
import { retryStuckUpdate } from '../../workflows/stuck-messages';
import type { RouteContext } from '../app';
import { keyset, pageOf, sortKey } from '../pagination';
import { notFound } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { runUpdate } from '../updates';

// Image scans' ids end in the version (`image-asset:{assetId}:1.0.0`): dots are part of a workflow id.
const workflowIdParam = z.strictObject({ workflowId: z.string().regex(/^[a-z][a-z-]{1,40}:[A-Za-z0-9:._-]{1,100}$/, 'malformed workflow id') });
const stuckView = z.object({
  workflowId: z.string(), workflowType: z.string(), subjectId: z.string(), step: z.string(), failureType: z.string(), message: z.string(),
  since: z.string(), nextCheckAt: z.string().nullable(), rechecks: z.number().int(), resolvedAt: z.string().nullable(), resolvedBy: z.string().nullable(),
}).meta({ id: 'StuckProcess' });
type Row = typeof stuckProcesses.$inferSelect;
const toView = (r: Row) => ({
  workflowId: r.workflowId, workflowType: r.workflowType, subjectId: r.subjectId, step: r.step, failureType: r.failureType, message: r.message,
  since: r.since.toISOString(), nextCheckAt: r.nextCheckAt?.toISOString() ?? null, rechecks: r.rechecks,
  resolvedAt: r.resolvedAt?.toISOString() ?? null, resolvedBy: r.resolvedBy,
});

// Workflow ids may hold dots (image-asset:{id}:{version}).
const byId = sortKey.ascii<Row>(stuckProcesses.workflowId, (r) => r.workflowId, 160);
const openPages = keyset<Row>('asc', [sortKey.instant(stuckProcesses.since, (r) => r.since), byId]);
const resolvedPages = keyset<Row>('desc', [sortKey.instant(stuckProcesses.resolvedAt, (r) => r.resolvedAt), byId]);

/** Operators' view of processes stuck on our own faults (workflows/stuck.ts), and the retry once fixed. */
export function stuckProcessRoutes({ router, registry, db, temporal }: RouteContext) {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/stuck-processes', tag: 'Operations', roles: ['operator'],
    summary: 'Processes waiting on one of our own faults (configuration, database, a bug), longest stuck first. `resolved=true` lists the ones that resumed.',
    query: z.strictObject({ resolved: z.enum(['true', 'false']).default('false'), workflowType: z.string().regex(/^[A-Za-z]{1,60}$/).optional(), ...openPages.query }),
    responses: { 200: { description: 'Stuck processes', schema: pageOf(stuckView) } },
    handler: async ({ query }) => {
      // Both orders take the same cursor grammar (an instant and a workflow id).
      const { rows, nextCursor } = await (query.resolved === 'true' ? resolvedPages : openPages).read(query, ({ after, orderBy, limit }) => db.select().from(stuckProcesses).where(and(
        query.resolved === 'true' ? isNotNull(stuckProcesses.resolvedAt) : isNull(stuckProcesses.resolvedAt),
        query.workflowType ? eq(stuckProcesses.workflowType, query.workflowType) : undefined, after,
      )).orderBy(...orderBy).limit(limit));
      return { body: { items: rows.map(toView), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/stuck-processes/:workflowId', tag: 'Operations', roles: ['operator'],
    summary: 'One process that is or was stuck.', params: workflowIdParam,
    responses: { 200: { description: 'The process', schema: stuckView }, 404: { description: 'Never stuck', schema: problemSchema } },
    handler: async ({ params }) => {
      const [row] = await db.select().from(stuckProcesses).where(eq(stuckProcesses.workflowId, params.workflowId));
      if (!row) throw notFound(`stuck process ${params.workflowId}`);
      return { body: toView(row) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/stuck-processes/:workflowId/retry', tag: 'Operations', roles: ['operator'],
    summary: 'Once the cause is fixed: retry the failed step now. Answers whether it passed; 202 when the retry takes longer than a few seconds.',
    params: workflowIdParam, body: z.strictObject({}),
    responses: {
      200: { description: 'The retry ran: `resolved` says whether the step passed', schema: z.object({ resolved: z.boolean(), stuck: stuckView.partial().nullable() }) },
      202: { description: 'The retry is under way; `Location` is the process to follow', schema: z.object({ accepted: z.literal(true), location: z.string() }) },
      409: { description: 'The process is not stuck, or no longer runs', schema: problemSchema },
      503: { description: 'The process engine is unavailable; `Retry-After` says when to try again', schema: problemSchema },
    },
    handler: async ({ res, principal, params }) => {
      const answer = await runUpdate(temporal, `process ${params.workflowId}`, temporal.workflow.getHandle(params.workflowId), retryStuckUpdate, [{ operatorId: principal.id }]);
      if (answer.done) return { body: answer.result };
      const location = `/v1/stuck-processes/${params.workflowId}`;
      res.setHeader('Location', location);
      return { status: 202, body: { accepted: true, location } };
    },
  });
}
