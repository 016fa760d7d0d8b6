import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ZodError } from 'zod';
import { safeError } from '../observability/safe-error';
import { OurFault } from '../seller-client/faults';
import { isTransientDbError } from '../db/errors';
import { isTemporalUnavailable } from './temporal-errors';

export interface FieldError { field: string; message: string }

/** An error the API answers with as application/problem+json (RFC 9457). */
export class Problem extends Error {
  constructor(
    public readonly status: number,
    public readonly title: string,
    public readonly detail?: string,
    public readonly errors?: FieldError[],
    /** Seconds for a Retry-After header (503: try again then). */
    public readonly retryAfter?: number,
  ) {
    super(detail ?? title);
  }
}

/** Something we depend on (the database, Temporal) is away for now: 503 with Retry-After. */
export const unavailable = (detail: string, retryAfter = 5) => new Problem(503, 'Service Unavailable', detail, undefined, retryAfter);

export const notFound = (what: string) => new Problem(404, 'Not Found', `${what} not found`);
export const conflict = (detail: string) => new Problem(409, 'Conflict', detail);
export const forbidden = (detail = 'your role may not do this') => new Problem(403, 'Forbidden', detail);

export function validationProblem(where: 'body' | 'query' | 'path' | 'header', err: ZodError): Problem {
  const errors = err.issues.map((i) => ({ field: [where, ...i.path.map(String)].join('.'), message: i.message }));
  return new Problem(400, 'Bad Request', `invalid ${where}`, errors);
}

/** Every error carries the request id (also in X-Request-Id) so a caller can name it to operators. */
function send(res: Parameters<RequestHandler>[1], p: Problem, instance: string) {
  if (p.retryAfter !== undefined) res.setHeader('Retry-After', String(p.retryAfter));
  const requestId = res.getHeader('x-request-id');
  res.status(p.status).type('application/problem+json').json({
    type: 'about:blank', title: p.title, status: p.status, detail: p.detail, instance,
    ...(typeof requestId === 'string' ? { requestId } : {}),
    ...(p.errors ? { errors: p.errors } : {}),
  });
}

/** body-parser's refusals, by its error type. */
const BODY_ERRORS: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'Bad Request', 'the body is not valid JSON'],
  'entity.too.large': [413, 'Content Too Large', 'the body is larger than the API reads'],
  'encoding.unsupported': [415, 'Unsupported Media Type', 'unsupported Content-Encoding'],
  'charset.unsupported': [415, 'Unsupported Media Type', 'unsupported charset; send UTF-8'],
  'request.aborted': [400, 'Bad Request', 'the request was aborted'],
  'request.size.invalid': [400, 'Bad Request', 'the body length does not match Content-Length'],
};

export const notFoundHandler: RequestHandler = (req, res) => send(res, new Problem(404, 'Not Found', `no route ${req.method} ${req.path}`), req.originalUrl);

export const problemHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (err instanceof Problem) return send(res, err, req.originalUrl);
  // The marketplace cannot reach a seller through its own fault (configuration, keys): not the caller's, not the seller's.
  if (err instanceof OurFault) {
    req.log?.error({ reason: err.reason }, err.message);
    return send(res, new Problem(503, 'Service Unavailable', `the marketplace cannot call the seller now (${err.reason}); the request id names it in the logs`), req.originalUrl);
  }
  const known = BODY_ERRORS[err?.type as string];
  if (known) return send(res, new Problem(...known), req.originalUrl);
  // Other client errors from express itself, e.g. a path that does not decode.
  const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
  if (status < 500) return send(res, new Problem(status, 'Bad Request', 'the request could not be read'), req.originalUrl);
  // A database or Temporal that is away is not a bug: the client may try again shortly.
  if (isTransientDbError(err)) return send(res, unavailable('the database is unavailable; try again shortly'), req.originalUrl);
  if (isTemporalUnavailable(err)) return send(res, unavailable('the process engine is unavailable; try again shortly'), req.originalUrl);
  req.log?.error({ err: safeError(err) }, 'unhandled error');
  send(res, new Problem(500, 'Internal Server Error', 'an unexpected error occurred; the request id names it in the logs'), req.originalUrl);
};
