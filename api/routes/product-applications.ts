import { z } from 'zod';
import type { RouteContext } from '../app';
import { pageOf } from '../pagination';
import { createProductReviewService, pages, releaseView } from '../product-review-service';
import { conflict } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { approveBody, idParam, rejectBody } from '../schemas';

const cents = z.number().int().min(0).max(100_000_000);
const releaseInput = z.strictObject({
  assetId: z.string().regex(/^[A-Z0-9]{4,40}$/), version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/),
  name: z.string().trim().min(1).max(200),
  description: z.string().trim().min(1).max(5000),
  // Per period: monthly, yearly or both, stated as two shapes so that the OpenAPI document says it too.
  pricing: z.union([
    z.strictObject({ mode: z.literal('free') }),
    z.strictObject({ mode: z.literal('period'), monthlyCents: cents, yearlyCents: cents.optional() }),
    z.strictObject({ mode: z.literal('period'), yearlyCents: cents }),
    z.strictObject({ mode: z.literal('usage'), hourlyCents: cents }),
  ]).describe('free; per period with monthlyCents, yearlyCents or both; or by use with hourlyCents'),
  regions: z.array(z.string().regex(/^[a-z]{2}-[a-z]+-\d{1,2}$/, 'a region id such as cn-north-4')).min(1).max(50),
}).meta({ id: 'ReleaseApplicationInput' });
const releaseSchema = z.object({
  id: z.string(), merchantId: z.string(), status: z.enum(['pending', 'approved', 'rejected', 'expired']), overdue: z.boolean(), round: z.number(),
  filedDay: z.string(), openedAt: z.string(), deadline: z.string().nullable(), decidedAt: z.string().nullable(), decidedBy: z.string().nullable(),
  reasons: z.array(z.string()).nullable(), productId: z.string().nullable().describe('the listed product, once approved'), workflowId: z.string(),
  application: z.record(z.string(), z.unknown()), history: z.array(z.record(z.string(), z.unknown())).optional(),
}).meta({ id: 'ReleaseApplication' });

export function productApplicationRoutes(ctx: RouteContext) {
  const { router, registry } = ctx;
  const releases = createProductReviewService(ctx);

  defineRoute(router, registry, {
    method: 'post', path: '/v1/product-applications', tag: 'Images', roles: ['seller'], body: releaseInput,
    summary: 'Apply to release an image product from an approved image version: name, description, pricing (free, per period or by use) and regions. '
      + 'Operators review it within 3 working days (4 from the 10th application a seller files in a day).',
    responses: { 201: { description: 'The application, pending review', schema: releaseSchema }, 404: { description: 'No such image version', schema: problemSchema }, 409: { description: 'The image is not approved', schema: problemSchema } },
    handler: async ({ principal, body }) => ({ status: 201, body: releaseView(await releases.file(principal, body)) }),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/product-applications/:id', tag: 'Images', roles: ['seller', 'operator'], params: idParam,
    summary: 'A release application with its history (every round).',
    responses: { 200: { description: 'The application', schema: releaseSchema }, 404: { description: 'Not found', schema: problemSchema } },
    handler: async ({ principal, params }) => {
      const a = await releases.visible(principal, params.id);
      return { body: releaseView(a, await releases.history(a.id)) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/product-applications/:id/resubmit', tag: 'Images', roles: ['seller'], params: idParam, body: releaseInput,
    summary: 'Resubmit a rejected application, edited, into the same case: a new round with a new deadline.',
    responses: { 200: { description: 'The application', schema: releaseSchema }, 202: { description: 'Taken, not yet written (Location)', schema: releaseSchema },
      404: { description: 'No such application or image version', schema: problemSchema }, 409: { description: 'Not rejected, or the image is not approved', schema: problemSchema },
      422: { description: 'The database would not take the application (its text)', schema: problemSchema },
    },
    handler: async ({ principal, params, body, res }) => {
      const a = await releases.visible(principal, params.id);
      const answer = await releases.resubmit(principal, a, body);
      if (!answer.done) res.setHeader('Location', `/v1/product-applications/${a.id}`);
      return { status: answer.done ? 200 : 202, body: releaseView((await releases.get(a.id))!) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/product-reviews', tag: 'Images', roles: ['operator'],
    query: z.strictObject({ status: z.enum(['pending', 'approved', 'rejected', 'expired']).default('pending'), ...pages.pending.query }),
    summary: 'The release review queue; pending applications earliest deadline first.',
    responses: { 200: { description: 'Applications', schema: pageOf(releaseSchema) } },
    handler: async ({ query }) => {
      const { rows, nextCursor } = await releases.queue(query.status, query);
      return { body: { items: rows.map((a) => releaseView(a)), nextCursor } };
    },
  });

  for (const verb of ['approve', 'reject'] as const) {
    defineRoute(router, registry, {
      method: 'post', path: `/v1/product-reviews/:id/${verb}`, tag: 'Images', roles: ['operator'], params: idParam, body: verb === 'approve' ? approveBody : rejectBody,
      summary: verb === 'approve' ? 'Approve a release: the product is listed in the catalog and the seller told by e-mail, SMS and in-site message.' : 'Reject a release with reasons; the seller edits and resubmits.',
      responses: { 200: { description: 'The decided application', schema: releaseSchema }, 202: { description: 'Taken, not yet written: the application to follow (Location)', schema: releaseSchema }, 404: { description: 'Not found', schema: problemSchema }, 409: { description: 'Already decided', schema: problemSchema },
        422: { description: 'The database would not take the decision (its text)', schema: problemSchema },
      },
      handler: async ({ principal, params, body, res }) => {
        const a = await releases.visible(principal, params.id);
        if (a.status !== 'pending') throw conflict(`release application ${a.id} is ${a.status}`);
        const answer = verb === 'approve'
          ? await releases.approve(a.id, principal.id, (body as z.infer<typeof approveBody>).note)
          : await releases.reject(a.id, principal.id, (body as z.infer<typeof rejectBody>).reasons);
        // Taken but not yet written (the database is slow or away): 202 and the application to follow.
        if (!answer.done) res.setHeader('Location', `/v1/product-applications/${a.id}`);
        return { status: answer.done ? 200 : 202, body: releaseView((await releases.get(a.id))!, await releases.history(a.id)) };
      },
    });
  }
  return releases;
}
