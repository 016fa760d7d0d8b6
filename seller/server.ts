/**
 * The reference seller: a careful seller's side of the SaaS production interface V2
 * (koogallery-spec §1.1–1.9) on plain node:http, with fault injection for the marketplace's tests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signOpenApiCall } from '../domain/open-api-signing';
import { bodySignHeader, canonicalPayload, signature, verifyRequest } from '../domain/saas-signing';
import { ADMIN_PATH, serveAdmin, type SellerControl } from './admin';
import type { SellerFaults } from './faults';
import { AUTH_FAILED, BAD_REQUEST, INTERNAL_ERROR, InstanceBook, queryIds, type Answer, type Instance } from './instances';

export type { AppInfo, Instance, LifecycleEvent, RefreshScene } from './instances';
export type { SellerFaults } from './faults';

export interface SellerOptions {
  accessKey: string;
  /** 0 = any free port; the server listens on 127.0.0.1 only. */
  port?: number;
  /** async: newInstance answers 000004 and the instance is ready asyncDelayMs later. */
  mode?: 'sync' | 'async';
  asyncDelayMs?: number;
  /** Clock for timestamp checks, nonce memory, readiness and fault windows. */
  now?: () => number;
  /** Add the Body-Sign header (spec §1.3). */
  signResponses?: boolean;
  /** Confirm each new order line with the marketplace's Query Order before provisioning it. */
  queryOrder?: QueryOrderTarget;
  /** Fault switches to start with (seller/faults.ts); `faults` on the running seller changes them later. */
  faults?: SellerFaults;
  /** Serve the run-time fault switches at /_admin/faults to callers with the access key (seller/admin.ts); make start does. */
  admin?: boolean;
}

/** Where and as whom the seller calls Query Order: the marketplace's base URL and the product id of its key. */
export interface QueryOrderTarget { baseUrl: string; keyId: string }
export interface QueryOrderCall { orderId: string; orderLineId: string; ok: boolean; httpStatus?: number; error?: string }

export type CallVerdict = 'ok' | 'bad-signature' | 'stale' | 'malformed' | 'replayed';

export interface ReceivedCall {
  activity?: string;
  query: Record<string, string>;
  body: unknown;
  rawBody: string;
  verdict: CallVerdict;
  resultCode: string;
  /** 200 for every answer the spec defines; 503 in an injected outage, 404/405/413 for calls off the interface. */
  httpStatus: number;
  at: number;
}

export interface ReferenceSeller {
  /** The production interface address. */
  url: string;
  received: ReceivedCall[];
  /** Instances keyed by orderLineId (a copy of the map; the instances themselves are live). */
  instances(): Map<string, Instance>;
  /** One instance by its id, live; its `events` list the refresh, status, release and upgrade calls it accepted. */
  instance(instanceId: string): Instance | undefined;
  /** The bodies of the verified calls of one activity that were answered 000000, in arrival order. */
  accepted(activity: string): Record<string, unknown>[];
  /** The live fault switches: set a field and the next call obeys it. */
  faults: SellerFaults;
  /** Replaces every fault switch at once (what is not given is off). */
  setFaults(f: SellerFaults): void;
  /** Every Query Order call back to the marketplace. */
  queryOrderCalls: QueryOrderCall[];
  setQueryOrder(target: QueryOrderTarget | undefined): void;
  setMode(mode: 'sync' | 'async'): void;
  close(): Promise<void>;
}

const PATH = '/saasproduce';
const QUERY_ORDER_PATH = '/api/mkp-openapi-public/global/v1/order/query';
/** Longer than the ±60 s timestamp window, so a replay inside it is always caught. */
const NONCE_MEMORY_MS = 10 * 60_000;
const MAX_BODY_BYTES = 64 * 1024;

/** An answer as JSON, or (for an injected crash) as plain text. */
type Reply = [status: number, answer: Answer | string];

export async function startReferenceSeller(o: SellerOptions): Promise<ReferenceSeller> {
  const now = o.now ?? Date.now;
  const signResponses = o.signResponses ?? true;
  const asyncDelayMs = o.asyncDelayMs ?? 2000;
  let mode = o.mode ?? 'sync';
  const faults: SellerFaults = { ...o.faults };
  const book = new InstanceBook();
  const received: ReceivedCall[] = [];
  const nonces = new Map<string, number>();
  const queryOrderCalls: QueryOrderCall[] = [];
  let queryOrder = o.queryOrder;

  /** A careful seller learns what was bought from the marketplace itself before it provisions (spec §1.4). */
  async function confirmOrder(target: QueryOrderTarget, orderId: string, orderLineId: string): Promise<QueryOrderCall> {
    const query = { orderId, orderLineId };
    try {
      // A real clock, not `now`: the marketplace checks the timestamp against its own.
      const headers = signOpenApiCall(o.accessKey, target.keyId, 'GET', QUERY_ORDER_PATH, query, Date.now());
      const res = await fetch(`${target.baseUrl}${QUERY_ORDER_PATH}?${new URLSearchParams(query)}`, { headers, signal: AbortSignal.timeout(5000) });
      const body = (await res.json().catch(() => undefined)) as QueryOrderAnswer | undefined;
      const error = queryOrderMismatch(res.status, body, orderId, orderLineId);
      return { orderId, orderLineId, ok: !error, httpStatus: res.status, ...(error ? { error } : {}) };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return { orderId, orderLineId, ok: false, error: err.name === 'TimeoutError' ? 'timed out after 5 s' : (err.cause?.code ?? err.message) };
    }
  }

  function rememberNonce(nonce: string, at: number): boolean {
    for (const [n, seen] of nonces) if (at - seen > NONCE_MEMORY_MS) nonces.delete(n);
    if (nonces.has(nonce)) return false;
    nonces.set(nonce, at);
    return true;
  }

  async function decide(req: IncomingMessage, url: URL, body: Record<string, unknown> | undefined, call: ReceivedCall): Promise<Reply> {
    if (body) call.verdict = check(call, body);
    if (faults.downUntil !== undefined && call.at < faults.downUntil) return [503, { resultCode: INTERNAL_ERROR, resultMsg: 'service unavailable' }];
    if (url.pathname !== PATH) return [404, { resultCode: BAD_REQUEST, resultMsg: 'not found' }];
    if (req.method !== 'POST') return [405, { resultCode: BAD_REQUEST, resultMsg: 'method not allowed' }];
    if (!body) return [200, { resultCode: BAD_REQUEST, resultMsg: 'body is not a JSON object' }];
    if (call.verdict !== 'ok') return [200, { resultCode: AUTH_FAILED, resultMsg: call.verdict }];
    // Only verified calls spend a nonce: a forged call must not block the real one that follows.
    if (!faults.noNonceCheck && !rememberNonce(call.query.nonce!, call.at)) {
      call.verdict = 'replayed';
      return [200, { resultCode: AUTH_FAILED, resultMsg: 'replayed' }];
    }
    // Only a new real order line is confirmed: resends of a known line and testFlag=1 debug calls are not; a body
    // without string ids falls through to the validation in InstanceBook (000002).
    const { orderId, orderLineId: line } = body;
    if (queryOrder && body.activity === 'newInstance' && body.testFlag !== '1' && typeof orderId === 'string' && typeof line === 'string' && !book.byOrderLine.has(line)) {
      const check = await confirmOrder(queryOrder, orderId, line);
      queryOrderCalls.push(check);
      if (!check.ok) return [200, { resultCode: INTERNAL_ERROR, resultMsg: `could not confirm the order with Query Order: ${check.error}` }];
    }
    if (faults.unknownIdError && body.activity === 'queryInstance' && typeof body.instanceId === 'string' && queryIds(body.instanceId).some((id) => !book.get(id))) {
      return [500, 'Internal Server Error: NullPointerException'];
    }
    return [200, book.answer(body, { now: call.at, mode, asyncDelayMs, faults })];
  }

  /**
   * The signature is checked on the raw bytes that were signed: a seller that re-serializes the
   * parsed body depends on its serializer matching the marketplace's byte for byte.
   */
  function check(call: ReceivedCall, body: Record<string, unknown>): CallVerdict {
    const payload = faults.reserializedSignature ? canonicalPayload(body as Parameters<typeof canonicalPayload>[0]) : call.rawBody;
    const q = { ...call.query };
    if (faults.acceptAnySignature && q.nonce && q.timestamp) q.signature = signature(o.accessKey, payload, q.nonce, q.timestamp);
    // Without a timestamp check the call is judged as if it were made just now.
    const at = faults.noTimestampCheck && /^\d{13}$/.test(q.timestamp ?? '') ? Number(q.timestamp) : call.at;
    const v = verifyRequest(o.accessKey, payload, q, at);
    return v.ok ? 'ok' : v.reason;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://seller.invalid');
    const body = raw === undefined ? undefined : parseObject(raw);
    const call: ReceivedCall = {
      activity: typeof body?.activity === 'string' ? body.activity : undefined,
      query: Object.fromEntries(url.searchParams), body, rawBody: raw ?? '', verdict: 'malformed', resultCode: '', httpStatus: 0, at: now(),
    };
    const [status, answer]: Reply = raw === undefined ? [413, { resultCode: BAD_REQUEST, resultMsg: 'body too large' }] : await decide(req, url, body, call);
    call.httpStatus = status;
    call.resultCode = typeof answer === 'string' ? '' : answer.resultCode;
    received.push(call);
    if (faults.slowMs) await new Promise((r) => setTimeout(r, faults.slowMs));
    send(res, status, answer, call.activity === 'newInstance' && call.verdict === 'ok');
  }

  function send(res: ServerResponse, status: number, answer: Answer | string, newInstance = false) {
    if (res.destroyed || res.writableEnded) return; // the client gave up, or close() cut the connection
    const success = typeof answer !== 'string' && newInstance && (answer.resultCode === '000000' || answer.resultCode === '000004');
    let out = answer;
    if (success && faults.noResultCode && typeof out !== 'string') {
      const { resultCode: _code, resultMsg: _msg, ...rest } = out;
      out = rest as Answer;
    }
    const raw = typeof out === 'string' ? out : JSON.stringify(out);
    const json = typeof out !== 'string' && !(success && faults.wrongContentType);
    res.setHeader('Content-Type', json ? 'application/json;charset=utf-8' : 'text/plain;charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(raw));
    if (status === 405) res.setHeader('Allow', 'POST');
    if (signResponses && !faults.noBodySign) res.setHeader('Body-Sign', bodySignHeader(o.accessKey, faults.wrongBodySign ? `${raw} ` : raw));
    res.writeHead(status).end(raw);
  }

  const control: SellerControl = {
    faults, setFaults: (f) => setFaults(f), mode: () => mode, setMode: (m) => { mode = m; }, startMode: mode, now,
  };
  function setFaults(f: SellerFaults) {
    for (const k of Object.keys(faults)) delete faults[k as keyof SellerFaults];
    Object.assign(faults, f);
  }

  const server = createServer((req, res) => {
    // Before the interface's own handling: a demo can switch an outage off while the seller is down.
    if (o.admin && req.url?.startsWith(ADMIN_PATH)) {
      serveAdmin(req, res, o.accessKey, control).catch(() => res.destroy());
      return;
    }
    handle(req, res).catch((e: unknown) => send(res, 500, { resultCode: INTERNAL_ERROR, resultMsg: String(e).slice(0, 255) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${PATH}`,
    received,
    instances: () => new Map(book.byOrderLine),
    instance: (id) => book.get(id),
    accepted: (activity) => received
      .filter((c) => c.activity === activity && c.verdict === 'ok' && c.resultCode === '000000')
      .map((c) => c.body as Record<string, unknown>),
    faults,
    setFaults,
    queryOrderCalls,
    setQueryOrder: (t) => { queryOrder = t; },
    setMode: (m) => { mode = m; },
    close: () => new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      server.closeAllConnections(); // keep-alive sockets from fetch would otherwise hold close() open
    }),
  };
}

type QueryOrderAnswer = { resultCode?: unknown; orderInfo?: { orderId?: unknown; orderLine?: unknown } };

/** Why a Query Order answer does not confirm the order line, or undefined when it does. */
function queryOrderMismatch(status: number, body: QueryOrderAnswer | undefined, orderId: string, orderLineId: string): string | undefined {
  if (status !== 200) return `HTTP ${status}`;
  if (!body || typeof body !== 'object') return 'the answer is not a JSON object';
  if (body.resultCode !== '000000') return `resultCode ${String(body.resultCode)}`;
  if (body.orderInfo?.orderId !== orderId) return `orderInfo.orderId is ${String(body.orderInfo?.orderId)}`;
  const lines = body.orderInfo.orderLine;
  if (!Array.isArray(lines) || !lines.some((l: { orderLineId?: unknown } | null) => l?.orderLineId === orderLineId)) return `order line ${orderLineId} is not in orderInfo.orderLine`;
  return undefined;
}

/** The body as UTF-8 text, or undefined when it exceeds MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8');
}

function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
