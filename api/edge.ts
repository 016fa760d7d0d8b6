import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import express, { type RequestHandler } from 'express';
import { Problem, type FieldError } from './problem';

/** Largest JSON body the API reads. */
export const BODY_LIMIT = '256kb';

/**
 * Characters PostgreSQL cannot store: NUL (text and jsonb refuse it) and UTF-16 surrogates that are
 * not in a pair (jsonb refuses their escapes; text would get U+FFFD instead). Checked in one place
 * for every string of a request (body, query, path, declared headers) and every object key.
 */
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function unstorableFields(value: unknown, path: string, out: FieldError[] = []): FieldError[] {
  if (out.length >= 20) return out;
  if (typeof value === 'string') {
    if (UNSTORABLE.test(value)) out.push({ field: path, message: 'contains a character that cannot be stored (NUL or an unpaired surrogate)' });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => unstorableFields(v, `${path}.${i}`, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (UNSTORABLE.test(k)) out.push({ field: path, message: 'has a key with a character that cannot be stored (NUL or an unpaired surrogate)' });
      else unstorableFields(v, `${path}.${k}`, out);
    }
  }
  return out;
}

export function refuseUnstorable(parts: Record<string, unknown>) {
  const errors = Object.entries(parts).flatMap(([where, v]) => unstorableFields(v, where));
  if (errors.length) throw new Problem(400, 'Bad Request', 'the request holds characters that cannot be stored', errors);
}

const hasBody = (req: express.Request) =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

const parseJson = express.json({ limit: BODY_LIMIT, type: () => true });

/**
 * Reads a JSON body after the route, the key and the role were checked, and only if it is JSON:
 * any other media type (or none) is 415 before a byte is read. A route whose body is optional takes
 * no body at all as `{}`.
 */
export function jsonBody(required: boolean): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req)) {
      if (required) throw new Problem(400, 'Bad Request', 'this request needs a JSON body', [{ field: 'body', message: 'required' }]);
      req.body = {};
      return next();
    }
    if (!req.is(['application/json', 'application/*+json'])) {
      throw new Problem(415, 'Unsupported Media Type', `send the body as application/json${req.get('content-type') ? `, not ${req.get('content-type')!.slice(0, 100)}` : ' (Content-Type is missing)'}`);
    }
    parseJson(req, res, next);
  };
}

/**
 * The edge of the routes whose handler streams the body itself (an image archive, an NDJSON feed, multipart
 * file uploads): the same refusals as `jsonBody`, before a byte is read: any other media type is 415, and no
 * body is 400. With `emptyToHandler`, an empty body that names a declared type is the handler's to judge
 * (an empty archive is not a tar archive: 422; an empty feed loads nothing); only no body and no type is 400.
 */
export function streamBody(mediaTypes: string[], o: { emptyToHandler?: boolean } = {}): RequestHandler {
  const types = mediaTypes.join(', ');
  return (req, _res, next) => {
    if (!hasBody(req) && !(o.emptyToHandler && req.get('content-type'))) throw new Problem(400, 'Bad Request', `this request needs a body (${types})`, [{ field: 'body', message: 'required' }]);
    if (hasBody(req) && !req.is(mediaTypes)) {
      throw new Problem(415, 'Unsupported Media Type', `send the body as ${types}${req.get('content-type') ? `, not ${req.get('content-type')!.slice(0, 100)}` : ' (Content-Type is missing)'}`);
    }
    next();
  };
}

/** multipart/form-data file uploads (api/supervision-files.ts): no body is 400, any other media type 415. */
export const multipartBody: RequestHandler = streamBody(['multipart/form-data']);

/** A route as declared, for answering 405 with `Allow` on its path. */
export interface DeclaredRoute { method: string; pattern: RegExp; params: number }
export const declaredRoute = (method: string, path: string): DeclaredRoute => ({
  method: method.toUpperCase(), params: (path.match(/:\w+/g) ?? []).length,
  pattern: new RegExp(`^${path.replace(/[.+*?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, '[^/]+')}/?$`),
});

/**
 * Methods by path, before any route runs: the path's resource is the most specific declared path that
 * matches (a literal `/v1/calendar/years` before `/v1/calendar/{date}`), an undeclared method on it is
 * 405 with `Allow`, and OPTIONS answers with `Allow`.
 */
export function methodGate(routes: DeclaredRoute[]): RequestHandler {
  return (req, res, next) => {
    const matches = routes.filter((r) => r.pattern.test(req.path));
    if (matches.length === 0) return next();
    const fewest = Math.min(...matches.map((m) => m.params));
    const methods = [...new Set(matches.filter((m) => m.params === fewest).map((m) => m.method))];
    if (methods.includes('GET')) methods.push('HEAD');
    const allow = methods.join(', ');
    if (req.method === 'OPTIONS') { res.setHeader('Allow', allow); res.status(204).end(); return; }
    if (methods.includes(req.method)) return next();
    res.setHeader('Allow', allow);
    throw new Problem(405, 'Method Not Allowed', `${req.method} is not allowed here; allowed: ${allow}`);
  };
}

/**
 * Requests Node's HTTP parser refuses before express sees them (headers too large: 431; malformed: 400)
 * are answered as application/problem+json with a request id too, instead of a bare status line.
 */
export function answerClientErrors(server: Server) {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const title = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    const requestId = randomUUID();
    const body = JSON.stringify({ type: 'about:blank', title, status, detail: status === 431 ? 'the request headers are too large' : 'the request could not be parsed as HTTP', requestId });
    socket.end(`HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`);
  });
}

/** Starts the app on a port with the edge's own answers installed. */
export async function listen(app: express.Express, port: number, host: string): Promise<Server> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (e?: Error) => (e ? reject(e) : resolve(s)));
  });
  answerClientErrors(server);
  return server;
}
