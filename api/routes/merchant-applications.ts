import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { merchantApplications } from '../../db/schema';
import { keyset, pageOf, sortKey } from '../pagination';
import { Problem } from '../problem';
import type { RouteContext } from '../app';
import { defineRoute, problemSchema as problemSchemaRef } from '../route';
import { applicationBody, applicationView, idempotencyHeaders, idParam } from '../schemas';
import { toView } from '../review-service';

type Application = typeof merchantApplications.$inferSelect;
const pages = keyset<Application>('desc', [sortKey.instant(merchantApplications.createdAt, (a) => a.createdAt), sortKey.text(merchantApplications.id, (a) => a.id)]);

export function merchantApplicationRoutes({ router, registry, reviews, db }: RouteContext) {
  defineRoute(router, registry, {
    method: 'post', path: '/v1/merchant-applications', tag: 'Seller onboarding', roles: ['buyer'],
    summary: 'Apply to become a seller. Opens a review case with a deadline of 3 working days.',
    headers: idempotencyHeaders, body: applicationBody,
    responses: {
      201: { description: 'Application created, review started', schema: applicationView },
      200: { description: 'Same Idempotency-Key as an earlier request: that application', schema: applicationView },
      409: { description: 'The company already has an open application', schema: problemSchemaRef },
    },
    handler: async ({ req, principal, body }) => {
      const { app, created } = await reviews.apply(principal, body, req.get('idempotency-key'));
      return { status: created ? 201 : 200, body: toView(app) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/merchant-applications', tag: 'Seller onboarding', roles: ['buyer', 'seller'],
    summary: 'List my applications and change requests, newest first.',
    query: z.strictObject({ ...pages.query }),
    responses: { 200: { description: 'My applications', schema: pageOf(applicationView) } },
    handler: async ({ principal, query }) => {
      const { rows, nextCursor } = await pages.read(query, ({ after, orderBy, limit }) => db.select().from(merchantApplications)
        .where(and(eq(merchantApplications.applicantPrincipalId, principal.id), after)).orderBy(...orderBy).limit(limit));
      return { body: { items: rows.map((r) => toView(r)), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/merchant-applications/:id', tag: 'Seller onboarding', roles: ['buyer', 'seller', 'operator'],
    summary: 'One application with its case history.', params: idParam,
    responses: { 200: { description: 'The application', schema: applicationView }, 404: { description: 'No such application of yours', schema: problemSchemaRef } },
    handler: async ({ principal, params }) => {
      const app = await reviews.visible(principal, params.id);
      return { body: toView(app, await reviews.history(app.id)) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/merchant-applications/:id/resubmit', tag: 'Seller onboarding', roles: ['buyer', 'seller'],
    summary: 'Resubmit a rejected application, corrected. The same case opens a new round with a new deadline.',
    params: idParam, body: applicationBody,
    responses: {
      200: { description: 'The case, pending again', schema: applicationView },
      202: { description: 'Taken but not written yet: the case as it stands; `Location` is the case to follow', schema: applicationView },
      503: { description: 'The process engine or the database is unavailable; `Retry-After` says when to try again', schema: problemSchemaRef },
      404: { description: 'No such application of yours', schema: problemSchemaRef },
      409: { description: 'The application is not rejected', schema: problemSchemaRef },
      422: { description: 'The business licence number differs from the application', schema: problemSchemaRef },
    },
    handler: async ({ res, principal, params, body }) => {
      const app = await reviews.visible(principal, params.id);
      if (app.applicantPrincipalId !== principal.id) throw new Problem(404, 'Not Found', `application ${params.id} not found`);
      if (app.kind !== 'onboarding') throw new Problem(409, 'Conflict', 'a rejected change request is not resubmitted: send a new change request');
      if (body.businessLicenceNo !== app.licenceNo) {
        throw new Problem(422, 'Unprocessable Content', 'a resubmission keeps the business licence number; another company applies separately', [
          { field: 'body.businessLicenceNo', message: `must be ${app.licenceNo}` },
        ]);
      }
      const answer = await reviews.resubmit(principal, app, body);
      if (!answer.done) res.setHeader('Location', `/v1/merchant-applications/${app.id}`);
      return { status: answer.done ? 200 : 202, body: toView((await reviews.get(app.id))!, await reviews.history(app.id)) };
    },
  });
}
