import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Context } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import { z, type ZodType } from 'zod';
import { secretBoxOf, type Config } from '../config';
import type { Db } from '../db/client';
import { interfaceMessages, products } from '../db/schema';
import { signRequest, verifyBodySign, type SignedRequest } from '../domain/saas-signing';
import { AddressRefused, guardedLookup, refuseAddress, refuseUrl, type Lookup, type OutboundPolicy } from './address-guard';
import { createEndpointLimiter, endpointOf, type EndpointLimiter } from './endpoint-limit';
import { inSpan } from '../observability/tracing';
import { OurFault, type SellerFault } from './faults';
import { maskSecrets, maskSecretsInText } from './mask';

/** What a seller's reply may be at most; more is cut off (and then does not parse). */
export const MAX_REPLY_BYTES = 64 * 1024;

/** Every V2 answer has a six-digit result code (spec §1.6); activities add their own fields. */
export const baseReply = z.looseObject({ resultCode: z.string().regex(/^\d{6}$/), resultMsg: z.string().max(1024).optional() });
type BaseReply = z.infer<typeof baseReply>;

export type Outcome = 'success' | 'async' | 'retryable' | 'refused';

/** One call as the seller answered it: `data` when the answer was a valid reply, `fault` when not. */
export interface SellerReply<T> {
  latencyMs: number;
  httpStatus?: number;
  /** The reply, parsed and validated, credentials NOT masked: only for the caller, never for storage. */
  data?: T;
  resultCode?: string;
  fault?: SellerFault;
  /** The reply carried a Body-Sign header that matched. */
  signed: boolean;
}

/** How the caller's process reads a reply; it is recorded with the call. */
export interface Judgement { outcome: Outcome; error?: string | null }

export interface SellerCall<T extends BaseReply> {
  productId: string;
  /** The V2 activity: newInstance, queryInstance, refreshInstance, updateInstanceStatus, releaseInstance, … */
  activity: string;
  /** The body besides `activity`; all values are strings in V2. */
  body: Record<string, string>;
  /** Schema of a valid reply; a 200 answer that does not match is the seller's fault `unexpected-reply`. */
  reply?: ZodType<T>;
  /** The interface message: its key makes a retried activity write one row per attempt. */
  record: { dedupeKey: string; orderLineId?: string | null; at?: Date };
  judge?: (r: SellerReply<T>) => Judgement;
  timeoutMs?: number;
}

export interface SellerCallResult<T> extends SellerReply<T> {
  outcome: Outcome;
  error: string | null;
  product: { id: string; merchantId: string };
}

/** Success on 000000; any fault or other code is worth another try later. */
export function defaultJudge(r: SellerReply<BaseReply>): Judgement {
  if (r.fault) return { outcome: 'retryable', error: r.fault.message };
  if (r.resultCode === '000000') return { outcome: 'success' };
  return { outcome: 'retryable', error: `result code ${r.resultCode}${r.data?.resultMsg ? `: ${r.data.resultMsg}` : ''}` };
}

/**
 * The one way the marketplace calls a seller's production interface (V2): load the product, decrypt
 * its access key, sign, call, verify the reply's Body-Sign, parse, and record the call as an
 * interface message with credentials masked. The seller's faults come back as values; our own
 * (no master key, a key that does not decrypt, a missing product) are thrown as OurFault.
 */
export const outboundPolicy = (config: Pick<Config, 'SELLER_ALLOW_HTTP' | 'SELLER_ALLOW_PRIVATE'>): OutboundPolicy =>
  ({ allowHttp: config.SELLER_ALLOW_HTTP, allowPrivate: config.SELLER_ALLOW_PRIVATE });

/** `lookup`: tests stand in for DNS (a name that resolves to a private address at call time). `limiter`: tests share or replace the endpoint limit. */
export function createSellerClient({ db, config, lookup, limiter }: { db: Db; config: Config; lookup?: Lookup; limiter?: EndpointLimiter }) {
  const guard = { policy: outboundPolicy(config), ...(lookup ? { lookup } : {}) };
  // At most SELLER_ENDPOINT_CONCURRENCY calls in flight per endpoint, across workers (seller-client/endpoint-limit.ts).
  const slots = limiter ?? createEndpointLimiter(db, { limit: config.SELLER_ENDPOINT_CONCURRENCY });
  async function endpoint(productId: string) {
    const [product] = await db.select().from(products).where(eq(products.id, productId));
    if (!product) throw new OurFault('product-missing', `product ${productId} not found`);
    if (!product.productionUrl || !product.accessKeyEnc) throw new OurFault('no-production-interface', `product ${productId} has no production interface`);
    if (!config.MASTER_KEY) throw new OurFault('master-key-missing', 'MASTER_KEY is not configured');
    let accessKey: string;
    try {
      accessKey = secretBoxOf(config)!.open(product.accessKeyEnc);
    } catch {
      throw new OurFault('decrypt-failed', `the access key of product ${productId} does not decrypt with the configured master key`);
    }
    return { product, url: product.productionUrl, accessKey };
  }

  async function call<T extends BaseReply = BaseReply>(c: SellerCall<T>): Promise<SellerCallResult<T>> {
    const { product, url, accessKey } = await endpoint(c.productId);
    const request = { activity: c.activity, ...c.body };
    const timeoutMs = c.timeoutMs ?? config.SELLER_CALL_TIMEOUT_MS;
    // One span per seller call, in the trace of the request or workflow that made it; the wait for a slot of the
    // endpoint's concurrency limit is inside it. A lease outlives a process that dies mid-call by a few seconds.
    const { reply, stored } = await inSpan(`seller ${c.activity}`, { 'seller.product_id': product.id, 'seller.activity': c.activity }, async (span) => {
      const release = await slots.acquire(endpointOf(url), timeoutMs + 5_000);
      let r: Awaited<ReturnType<typeof post<T>>>;
      try {
        r = await post(url, accessKey, request, (c.reply ?? baseReply) as ZodType<T>, timeoutMs, guard, product.requireBodySign);
      } finally {
        await release();
      }
      if (r.reply.httpStatus) span.setAttribute('http.response.status_code', r.reply.httpStatus);
      if (r.reply.fault) span.setAttribute('seller.fault', r.reply.fault.kind);
      return r;
    });
    const result = (judged: Judgement) => ({ ...reply, outcome: judged.outcome, error: judged.error ?? null, product: { id: product.id, merchantId: product.merchantId } });
    // Nothing was sent and nothing came back: there is no message to keep.
    if (reply.fault?.kind === 'address-refused') return result({ outcome: 'retryable', error: reply.fault.message });
    // Operators see which products sign their replies (the latest 200 answer tells).
    if (reply.httpStatus === 200 && reply.fault?.kind !== 'bad-body-sign' && product.repliesSigned !== reply.signed) {
      await db.update(products).set({ repliesSigned: reply.signed }).where(eq(products.id, product.id));
    }
    const judged = (c.judge ?? (defaultJudge as (r: SellerReply<T>) => Judgement))(reply);
    await db.insert(interfaceMessages).values({
      dedupeKey: c.record.dedupeKey, orderLineId: c.record.orderLineId ?? null, productId: product.id, merchantId: product.merchantId,
      activity: c.activity, request: maskSecrets(request), httpStatus: reply.httpStatus ?? null, response: stored,
      resultCode: reply.resultCode ?? null, outcome: judged.outcome, error: judged.error ?? null, latencyMs: reply.latencyMs, at: c.record.at ?? new Date(),
    }).onConflictDoNothing();
    logCall(c, reply, judged);
    return result(judged);
  }

  return { call, endpoint };
}

export type SellerClient = ReturnType<typeof createSellerClient>;

/** One line per call in the worker's log, so a terminal shows each attempt and why it failed; outside an activity, none. */
function logCall(c: Pick<SellerCall<BaseReply>, 'activity' | 'record'>, reply: SellerReply<unknown>, judged: Judgement) {
  let log;
  try { log = Context.current().log; } catch { return; }
  const answer = reply.fault ? reply.fault.message : `${reply.resultCode ?? 'no result code'}`;
  const line = `seller ${c.activity}${c.record.orderLineId ? ` ${c.record.orderLineId}` : ''}: ${answer} → ${judged.outcome}${judged.error && !reply.fault ? ` (${judged.error})` : ''} in ${reply.latencyMs} ms`;
  if (judged.outcome === 'success' || judged.outcome === 'async') log.info(line);
  else log.warn(line);
}

/** A reply exactly as it came: status, the two headers that matter, the body (capped), or the transport's fault. */
export interface RawReply { httpStatus?: number; contentType?: string; bodySign?: string; body?: string; latencyMs: number; fault?: SellerFault }

/**
 * POSTs prepared bytes with the given query parameters (those absent are not sent) and returns what
 * came back, judging nothing. `call` uses it for every signed call; the conformance kit uses it to
 * send deliberately broken ones (forged signature, stale timestamp, replayed nonce, tampered body).
 */
export async function sendSigned(url: string, req: { payload: string; query: Partial<SignedRequest['query']> }, timeoutMs: number, guard?: { policy: OutboundPolicy; lookup?: Lookup }): Promise<RawReply> {
  const target = new URL(url);
  for (const [k, v] of Object.entries(req.query)) if (v !== undefined) target.searchParams.set(k, v);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const refusedUrl = guard && refuseUrl(url, guard.policy);
  if (refusedUrl) return { latencyMs: 0, fault: { kind: 'address-refused', message: `address refused: ${refusedUrl}` } };
  const body = Buffer.from(req.payload, 'utf8');
  return new Promise<RawReply>((resolve) => {
    let httpStatus: number | undefined;
    const fail = (e: unknown) => resolve({ latencyMs: elapsed(), httpStatus, fault: transportFault(e, timeoutMs) });
    const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, {
      method: 'POST', agent: false, signal: AbortSignal.timeout(timeoutMs),
      headers: { 'content-type': 'application/json;charset=utf-8', 'content-length': body.length },
      ...(guard ? { lookup: guardedLookup(guard.policy, guard.lookup) as never } : {}),
    }, (res) => {
      httpStatus = res.statusCode;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_REPLY_BYTES) chunks.push(c);
        size += c.length;
        // A seller cannot fill our memory: the rest is not read.
        if (size >= MAX_REPLY_BYTES) res.destroy();
      });
      const done = () => {
        const text = Buffer.concat(chunks).subarray(0, MAX_REPLY_BYTES).toString('utf8');
        const contentType = res.headers['content-type'];
        const bodySign = res.headers['body-sign'];
        resolve({ httpStatus, body: text, latencyMs: elapsed(), ...(contentType ? { contentType } : {}), ...(typeof bodySign === 'string' ? { bodySign } : {}) });
      };
      res.on('end', done);
      res.on('close', () => { if (size >= MAX_REPLY_BYTES) done(); });
      res.on('error', fail);
    });
    // The address actually connected to, checked again: what the name resolved to is what we talk to.
    if (guard) {
      request.on('socket', (socket) => socket.once('connect', () => {
        const refused = socket.remoteAddress ? refuseAddress(socket.remoteAddress, guard.policy) : 'no remote address';
        if (refused) request.destroy(new AddressRefused(refused));
      }));
    }
    request.on('error', fail);
    request.end(body);
  });
}

/** The signed POST itself; `stored` is the reply as it may be kept (masked, bounded). */
async function post<T>(url: string, accessKey: string, request: Record<string, string>, schema: ZodType<T>, timeoutMs: number,
  guard: { policy: OutboundPolicy; lookup?: Lookup }, requireSign: boolean): Promise<{ reply: SellerReply<T>; stored: string | null }> {
  const sent = await sendSigned(url, signRequest(accessKey, request, Date.now()), timeoutMs, guard);
  const { latencyMs, httpStatus } = sent;
  if (sent.fault || sent.body === undefined) return { reply: { latencyMs, httpStatus, fault: sent.fault!, signed: false }, stored: null };
  const raw = sent.body;
  const sign = sent.bodySign;
  let json: unknown;
  let parsed = false;
  try { json = JSON.parse(raw); parsed = true; } catch { /* judged below */ }
  const stored = parsed ? JSON.stringify(maskSecrets(json)) : maskSecretsInText(raw);
  const base = { latencyMs, httpStatus, signed: false };
  if (httpStatus !== 200) return { reply: { ...base, fault: { kind: 'http-status', status: httpStatus!, message: `HTTP ${httpStatus}` } }, stored };
  if (sign && !verifyBodySign(accessKey, raw, sign)) return { reply: { ...base, fault: { kind: 'bad-body-sign', message: 'the Body-Sign header does not match the body' } }, stored };
  const signed = !!sign;
  if (!signed && requireSign) return { reply: { ...base, fault: { kind: 'unsigned', message: 'the product requires a Body-Sign and the reply has none' } }, stored };
  if (!parsed) return { reply: { ...base, signed, fault: { kind: 'unparseable', message: 'unparseable response body' } }, stored };
  const valid = schema.safeParse(json);
  const resultCode = typeof (json as { resultCode?: unknown })?.resultCode === 'string' ? (json as { resultCode: string }).resultCode : undefined;
  if (!valid.success) {
    const issue = valid.error.issues[0];
    return { reply: { ...base, signed, ...(resultCode ? { resultCode } : {}), fault: { kind: 'unexpected-reply', message: `unexpected response: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid'}` } }, stored };
  }
  return { reply: { ...base, signed, data: valid.data, resultCode: (valid.data as BaseReply).resultCode }, stored };
}

function transportFault(e: unknown, timeoutMs: number): SellerFault {
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (err instanceof AddressRefused) return { kind: 'address-refused', message: err.message };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return { kind: 'timeout', message: `timeout after ${timeoutMs} ms` };
  const code = err.code ?? err.cause?.code;
  if (code === 'ECONNREFUSED') return { kind: 'refused', message: 'network error: connection refused (ECONNREFUSED)' };
  return { kind: 'network', message: `network error: ${code ?? err.cause?.message ?? err.message}` };
}
