import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { merchants } from '../../db/schema';
import { createPrincipal, issueApiKey, type Principal } from '../auth';
import type { RouteContext } from '../app';
import { notFound } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { applicationView, changeBody, idempotencyHeaders, idParam, merchantView, text } from '../schemas';
import { toView } from '../review-service';

type Merchant = typeof merchants.$inferSelect;
const view = (m: Merchant) => ({
  id: m.id, status: m.status, profile: m.profile, financeContact: m.financeContact,
  createdAt: m.createdAt.toISOString(), updatedAt: m.updatedAt.toISOString(),
});

export function merchantRoutes({ router, registry, reviews, db }: RouteContext) {
  /** Operators see every seller; the applicant who owns it and its sellers see their own; others get 404. */
  async function visibleMerchant(p: Principal, id: string): Promise<Merchant> {
    const [m] = await db.select().from(merchants).where(eq(merchants.id, id));
    if (!m || !(p.role === 'operator' || m.ownerPrincipalId === p.id || (p.role === 'seller' && p.merchantId === id))) throw notFound(`merchant ${id}`);
    return m;
  }

  defineRoute(router, registry, {
    method: 'get', path: '/v1/merchants/:id', tag: 'Sellers', roles: ['buyer', 'seller', 'operator'],
    summary: 'A seller with its approved business information.', params: idParam,
    responses: { 200: { description: 'The seller', schema: merchantView }, 404: { description: 'No such seller of yours', schema: problemSchema } },
    handler: async ({ principal, params }) => ({ body: view(await visibleMerchant(principal, params.id)) }),
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/merchants/:id/changes', tag: 'Sellers', roles: ['seller'],
    summary: 'Change seller information. A finance contact applies at once; business information goes through a review and applies when approved.',
    params: idParam, body: changeBody, headers: idempotencyHeaders,
    responses: {
      200: { description: 'What applied now and the review opened, if any', schema: z.object({ merchant: merchantView, review: applicationView.nullable() }) },
      404: { description: 'No such seller of yours', schema: problemSchema },
      409: { description: 'A change of business information is already under review', schema: problemSchema },
    },
    handler: async ({ req, principal, params, body }) => {
      if (principal.merchantId !== params.id) throw notFound(`merchant ${params.id}`);
      await visibleMerchant(principal, params.id);
      // Open the review first: if it conflicts, the finance contact is not half-applied.
      const review = body.business ? await reviews.requestChange(principal, params.id, body.business, req.get('idempotency-key')) : null;
      if (body.financeContact) {
        await db.update(merchants).set({ financeContact: body.financeContact, updatedAt: new Date() }).where(eq(merchants.id, params.id));
      }
      const [m] = await db.select().from(merchants).where(eq(merchants.id, params.id));
      return { body: { merchant: view(m!), review: review ? toView(review) : null } };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/merchants/:id/api-keys', tag: 'Sellers', roles: ['buyer', 'operator'],
    summary: 'Issue a seller API key for an active seller. The key is shown once; only its hash is stored.',
    params: idParam, body: z.strictObject({ name: text(100).optional() }),
    responses: {
      201: { description: 'The new key', schema: z.object({ principalId: z.string(), merchantId: z.string(), apiKey: z.string() }) },
      404: { description: 'No such seller of yours', schema: problemSchema },
    },
    handler: async ({ principal, params, body }) => {
      const m = await visibleMerchant(principal, params.id);
      const name = body.name ?? String(m.profile.companyName ?? m.id);
      const principalId = await createPrincipal(db, {
        role: 'seller', name, merchantId: m.id,
        email: typeof m.profile.contactEmail === 'string' ? m.profile.contactEmail : undefined,
        phone: typeof m.profile.contactPhone === 'string' ? m.profile.contactPhone : undefined,
      });
      return { status: 201, body: { principalId, merchantId: m.id, apiKey: await issueApiKey(db, principalId, 'seller') } };
    },
  });
}
