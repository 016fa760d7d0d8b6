import { and, eq, isNull, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { apiKeys, merchants, principals } from '../../db/schema';
import { createPrincipal, issueApiKeyWithId, type Principal } from '../auth';
import type { RouteContext } from '../app';
import { keyset, pageOf, sortKey } from '../pagination';
import { forbidden, notFound, Problem } from '../problem';
import { defineRoute, problemSchema } from '../route';
import { email, phone, text } from '../schemas';

const keyId = z.strictObject({ id: z.string().regex(/^[A-Z0-9]{12,32}$/, 'malformed key id') });
const newKey = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('buyer'), name: text(100), email: email.optional(), phone: phone.optional() }),
  z.strictObject({ role: z.literal('seller'), name: text(100), merchantId: z.string().regex(/^[A-Z0-9]{4,40}$/).optional().describe('operators name the seller; a seller\'s own is taken') }),
  z.strictObject({ role: z.literal('operator'), name: text(100), email: email.optional(), supervisor: z.boolean().optional() }),
]).meta({ id: 'ApiKeyInput' });
const keyView = z.object({
  keyId: z.string(), principalId: z.string(), role: z.string(), name: z.string(), merchantId: z.string().nullable(),
  label: z.string().nullable(), createdAt: z.string(), revokedAt: z.string().nullable(),
}).meta({ id: 'ApiKey' });

type Row = { key: typeof apiKeys.$inferSelect; principal: typeof principals.$inferSelect };
const keyPages = keyset<Row>('desc', [sortKey.instant(apiKeys.createdAt, (r) => r.key.createdAt), sortKey.text(apiKeys.id, (r) => r.key.id)]);
const toView = ({ key, principal }: Row) => ({
  keyId: key.id, principalId: principal.id, role: principal.role, name: principal.name, merchantId: principal.merchantId,
  label: key.label, createdAt: key.createdAt.toISOString(), revokedAt: key.revokedAt?.toISOString() ?? null,
});

/**
 * API keys over the API: operators issue keys for any role, sellers more keys for their own seller;
 * anyone revokes their own key, sellers their seller's, operators any. The secret is shown once.
 */
export function apiKeyRoutes({ router, registry, db, keys }: RouteContext) {
  /** Which keys a caller may see and revoke. */
  const scope = (p: Principal): SQL | undefined =>
    p.role === 'operator' ? undefined : p.role === 'seller' ? eq(principals.merchantId, p.merchantId!) : eq(principals.id, p.id);
  const select = () => db.select({ key: apiKeys, principal: principals }).from(apiKeys).innerJoin(principals, eq(principals.id, apiKeys.principalId));

  defineRoute(router, registry, {
    method: 'post', path: '/v1/api-keys', tag: 'API keys', roles: ['operator', 'seller'],
    summary: 'Issue an API key for a new principal: operators for any role, sellers for their own seller. The key is shown once; only its hash is stored.',
    body: newKey,
    responses: {
      201: { description: 'The new key', schema: keyView.extend({ apiKey: z.string() }) },
      404: { description: 'No such seller', schema: problemSchema },
      422: { description: 'An operator\'s seller key without merchantId', schema: problemSchema },
    },
    handler: async ({ principal, body }) => {
      let merchantId: string | undefined;
      if (body.role === 'seller') {
        merchantId = principal.role === 'seller' ? principal.merchantId! : body.merchantId;
        if (principal.role === 'seller' && body.merchantId && body.merchantId !== merchantId) throw notFound(`merchant ${body.merchantId}`);
        if (!merchantId) throw new Problem(422, 'Unprocessable Content', 'an operator issuing a seller key names the seller', [{ field: 'body.merchantId', message: 'required for operators' }]);
        const [m] = await db.select({ id: merchants.id }).from(merchants).where(eq(merchants.id, merchantId));
        if (!m) throw notFound(`merchant ${merchantId}`);
      } else if (principal.role !== 'operator') throw forbidden('sellers issue seller keys only');
      const principalId = await createPrincipal(db, {
        role: body.role, name: body.name, merchantId,
        ...('email' in body && body.email ? { email: body.email } : {}), ...('phone' in body && body.phone ? { phone: body.phone } : {}),
        ...('supervisor' in body ? { supervisor: body.supervisor } : {}),
      });
      const issued = await issueApiKeyWithId(db, principalId, `issued by ${principal.id}`);
      const [row] = await select().where(eq(apiKeys.id, issued.keyId));
      return { status: 201, body: { ...toView(row!), apiKey: issued.apiKey } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/api-keys', tag: 'API keys', roles: ['buyer', 'seller', 'operator'],
    summary: 'API keys: operators see all, sellers their seller\'s, buyers their own. Secrets are never shown again.',
    query: z.strictObject({ ...keyPages.query }),
    responses: { 200: { description: 'Keys, newest first', schema: pageOf(keyView) } },
    handler: async ({ principal, query }) => {
      const { rows, nextCursor } = await keyPages.read(query, ({ after, orderBy, limit }) => select().where(and(scope(principal), after)).orderBy(...orderBy).limit(limit));
      return { body: { items: rows.map(toView), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/api-keys/:id/revoke', tag: 'API keys', roles: ['buyer', 'seller', 'operator'],
    summary: 'Revoke a key: it stops working at once on this API process and within API_KEY_CACHE_MS (5 s) on others.',
    params: keyId, body: z.strictObject({}),
    responses: { 200: { description: 'The revoked key', schema: keyView }, 404: { description: 'No such key of yours', schema: problemSchema } },
    handler: async ({ principal, params }) => {
      const [row] = await select().where(and(eq(apiKeys.id, params.id), scope(principal)));
      if (!row) throw notFound(`API key ${params.id}`);
      await db.update(apiKeys).set({ revokedAt: new Date() }).where(and(eq(apiKeys.id, params.id), isNull(apiKeys.revokedAt)));
      keys.forget(params.id);
      const [now] = await select().where(eq(apiKeys.id, params.id));
      return { body: toView(now!) };
    },
  });
}
