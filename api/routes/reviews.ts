import { z } from 'zod';
import type { RouteContext } from '../app';
import { pageOf } from '../pagination';
import { conflict, notFound } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { applicationView, approveBody, idParam, rejectBody } from '../schemas';
import { pages, toView } from '../review-service';
import type { UpdateAnswer } from '../updates';

const reviewQueueQuery = z.strictObject({
  status: z.enum(['pending', 'approved', 'rejected', 'expired']).default('pending'),
  overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  kind: z.enum(['onboarding', 'change']).optional(),
  ...pages.pending.query,
});

export function reviewRoutes({ router, registry, reviews }: RouteContext) {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/reviews', tag: 'Reviews', roles: ['operator'],
    summary: 'The review queue. Pending cases come earliest deadline first; `overdue=true` keeps those past their deadline.',
    query: reviewQueueQuery,
    responses: { 200: { description: 'Cases', schema: pageOf(applicationView) } },
    handler: async ({ query }) => {
      const { rows, nextCursor } = await reviews.queue(query);
      return { body: { items: rows.map((a) => toView(a)), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/reviews/:id', tag: 'Reviews', roles: ['operator'],
    summary: 'One case with its history.', params: idParam,
    responses: { 200: { description: 'The case', schema: applicationView }, 404: { description: 'No such case', schema: problemSchema } },
    handler: async ({ params }) => {
      const app = await reviews.get(params.id);
      if (!app) throw notFound(`review ${params.id}`);
      return { body: toView(app, await reviews.history(app.id)) };
    },
  });

  /** A decided case answers 409 at once; the workflow's validator still guards the race between two operators. */
  const openCase = async (id: string) => {
    const app = await reviews.get(id);
    if (!app) throw notFound(`review ${id}`);
    if (app.status !== 'pending') throw conflict(`review ${id} is ${app.status}`);
  };
  const decisionResponses = {
    200: { description: 'The decided case', schema: applicationView },
    202: { description: 'The decision was taken but is not written yet (the database is slow or away): the case as it stands; `Location` is the case to follow', schema: applicationView },
    422: { description: 'The decision was refused with a reason (e.g. its text cannot be stored); the case stays open', schema: problemSchema },
    503: { description: 'The process engine or the database is unavailable; `Retry-After` says when to try again', schema: problemSchema },
    404: { description: 'No such case', schema: problemSchema },
    409: { description: 'The case is already decided', schema: problemSchema },
  };

  /** Both decisions: role, open case, then the workflow's Update, then the case as the database now holds it. */
  function decision<B extends typeof approveBody | typeof rejectBody>(
    verb: 'approve' | 'reject', body: B, summary: string, decide: (id: string, operatorId: string, body: z.infer<B>) => Promise<UpdateAnswer<unknown>>,
  ) {
    defineRoute(router, registry, {
      method: 'post', path: `/v1/reviews/:id/${verb}`, tag: 'Reviews', roles: ['operator'], summary,
      params: idParam, body, responses: decisionResponses,
      handler: async ({ res, principal, params, body: input }) => {
        await openCase(params.id);
        const answer = await decide(params.id, principal.id, input as z.infer<B>);
        if (!answer.done) res.setHeader('Location', `/v1/reviews/${params.id}`);
        return { status: answer.done ? 200 : 202, body: toView((await reviews.get(params.id))!, await reviews.history(params.id)) };
      },
    });
  }
  decision('approve', approveBody, 'Approve an open case. Onboarding makes the applicant an active seller; a change applies to the seller.',
    (id, op, b) => reviews.approve(id, op, b.note));
  decision('reject', rejectBody, 'Reject an open case with reasons. The applicant may correct and resubmit into the same case.',
    (id, op, b) => reviews.reject(id, op, b.reasons));
}
