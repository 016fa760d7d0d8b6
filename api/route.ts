import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Request, RequestHandler, Response, Router } from 'express';
import { z, type ZodType } from 'zod';
import { requireRole, type Principal, type Role } from './auth';
import { jsonBody, multipartBody, refuseUnstorable, streamBody } from './edge';
import { idempotencyKeysOf } from './idempotency';
import { validationProblem } from './problem';

type Method = 'get' | 'post' | 'put' | 'delete';
type Infer<T> = T extends ZodType ? z.infer<T> : undefined;

export interface RouteSpec<P extends ZodType | undefined, Q extends ZodType | undefined, B extends ZodType | undefined> {
  method: Method;
  /** Express path, e.g. `/v1/reviews/:id`. */
  path: string;
  summary: string;
  tag: string;
  /** Roles allowed to call; `public` needs no API key. */
  roles: Role[] | 'public';
  params?: P;
  query?: Q;
  body?: B;
  /**
   * A multipart/form-data body instead of JSON: documented here, its media type checked at the edge before a byte
   * is read (api/edge.ts), then read by the handler as a stream (api/supervision-files.ts).
   */
  multipart?: ZodType;
  /**
   * A body that is neither JSON nor multipart, which the handler streams from `req` (an image archive, NDJSON): its
   * media types. The edge takes only these (415 otherwise, api/edge.ts), and the OpenAPI document states them.
   */
  stream?: { mediaTypes: string[]; description: string };
  headers?: z.ZodObject;
  /** OpenAPI security requirement for routes that authenticate another way than a bearer key. */
  security?: Record<string, string[]>[];
  /** `contentType` for responses that are not JSON (a file download the handler streams itself). */
  responses: Record<number, { description: string; schema?: ZodType; contentType?: string }>;
  handler: (ctx: { req: Request; res: Response; principal: Principal; params: Infer<P>; query: Infer<Q>; body: Infer<B> }) => Promise<{ status?: number; body: unknown }>;
}

const problemSchema = z.object({
  type: z.string(), title: z.string(), status: z.number().int(), detail: z.string().optional(), instance: z.string().optional(),
  requestId: z.string().optional().describe('the request id, as in the X-Request-Id header'),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
}).meta({ id: 'Problem' });

/** A streamed body as OpenAPI states it: any bytes. */
const binary = z.string().meta({ format: 'binary' });

const parse = <T extends ZodType>(where: 'body' | 'query' | 'path' | 'header', schema: T, value: unknown): z.infer<T> => {
  const r = schema.safeParse(value);
  if (!r.success) throw validationProblem(where, r.error);
  return r.data;
};

const IDEMPOTENCY_MISMATCH = 'The Idempotency-Key was first used with another body: the problem names that body\'s fingerprint (SHA-256 of its canonical JSON); nothing was changed';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input', 401: 'Missing or bad API key', 403: 'Role not allowed', 413: 'Body too large', 415: 'Body is not application/json',
  503: 'A service the API needs is not available now',
};

/**
 * One declaration per endpoint: the same zod schemas validate the request and generate the OpenAPI
 * document, so the two cannot drift apart. Order per request (the API key was checked before the
 * route, api/app.ts): role, then the media type and the body (read only now), then every input's
 * characters, then its schema, then the handler.
 */
export function defineRoute<P extends ZodType | undefined, Q extends ZodType | undefined, B extends ZodType | undefined>(
  router: Router, registry: OpenAPIRegistry, spec: RouteSpec<P, Q, B>,
) {
  // A body that may be empty ({} is valid) may also be left out.
  const bodyRequired = spec.body ? !spec.body.safeParse({}).success : false;
  // A route that takes an Idempotency-Key binds it to its first body (api/idempotency.ts).
  // A streamed upload (multipart or raw) is not read before its handler: its handler's own key rule stands alone.
  const idempotent = Boolean(spec.headers?.shape['idempotency-key']) && !spec.multipart && !spec.stream;
  const statuses = [400, ...(spec.roles === 'public' ? [] : [401, 403]), ...(spec.body || spec.multipart || spec.stream ? [413, 415] : []), 503];
  const describe = (s: number) => (s !== 415 ? ERROR_DESCRIPTIONS[s]! : spec.stream ? `Body is not ${spec.stream.mediaTypes.join(', ')}` : spec.multipart ? 'Body is not multipart/form-data' : ERROR_DESCRIPTIONS[s]!);
  const problems = Object.fromEntries(statuses.map((s) => [s, { description: describe(s), content: { 'application/problem+json': { schema: problemSchema } } }]));
  registry.registerPath({
    method: spec.method,
    path: spec.path.replace(/:(\w+)/g, '{$1}'),
    summary: spec.summary,
    tags: [spec.tag],
    security: spec.security ?? (spec.roles === 'public' ? [] : [{ bearerAuth: [] }]),
    description: spec.roles === 'public' ? undefined : `Roles: ${spec.roles.join(', ')}.`,
    request: {
      ...(spec.params ? { params: spec.params as unknown as z.ZodObject } : {}),
      ...(spec.query ? { query: spec.query as unknown as z.ZodObject } : {}),
      ...(spec.headers ? { headers: spec.headers } : {}),
      ...(spec.body ? { body: { content: { 'application/json': { schema: spec.body } }, required: bodyRequired } } : {}),
      ...(spec.multipart ? { body: { content: { 'multipart/form-data': { schema: spec.multipart } }, required: true } } : {}),
      ...(spec.stream ? { body: { description: spec.stream.description, required: true, content: Object.fromEntries(spec.stream.mediaTypes.map((t) => [t, { schema: binary }])) } } : {}),
    },
    responses: {
      ...problems,
      ...Object.fromEntries(Object.entries<{ description: string; schema?: ZodType; contentType?: string }>({ ...(idempotent ? { 422: { description: '' } } : {}), ...spec.responses }).map(([status, r]) => [status, {
        description: idempotent && status === '422' ? [r.description, IDEMPOTENCY_MISMATCH].filter(Boolean).join('; or ') : r.description,
        ...(r.schema ?? (idempotent && status === '422') ? { content: { [r.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json')]: { schema: r.schema ?? problemSchema } } } : {}),
      }])),
    },
  });

  const role: RequestHandler = (req, _res, next) => {
    if (spec.roles !== 'public') requireRole(req, ...spec.roles);
    next();
  };
  const reader = spec.body ? [jsonBody(bodyRequired)] : spec.multipart ? [multipartBody] : spec.stream ? [streamBody(spec.stream.mediaTypes, { emptyToHandler: true })] : [];
  router[spec.method](spec.path, role, ...reader, async (req: Request, res: Response) => {
    const principal = req.principal as Principal;
    const headers = spec.headers ? Object.fromEntries(Object.keys(spec.headers.shape).map((h) => [h, req.headers[h]])) : {};
    refuseUnstorable({ path: req.params, query: req.query, header: headers, ...(spec.body ? { body: req.body } : {}) });
    if (spec.headers) parse('header', spec.headers, req.headers);
    const params = (spec.params ? parse('path', spec.params, req.params) : undefined) as Infer<P>;
    const query = (spec.query ? parse('query', spec.query, req.query) : undefined) as Infer<Q>;
    const body = (spec.body ? parse('body', spec.body, req.body) : undefined) as Infer<B>;
    const key = idempotent ? req.get('idempotency-key') : undefined;
    if (key) await idempotencyKeysOf(req).claim({ principalId: principal.id, request: `${req.method} ${req.path}`, key, body: req.body ?? null });
    const out = await spec.handler({ req, res, principal, params, query, body });
    // A handler that streamed its own response (a download) has sent it already.
    if (!res.headersSent) res.status(out.status ?? 200).json(out.body);
  });
}

export { problemSchema };
