import { Context } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import { z, type ZodType } from 'zod';
import { secretBoxOf, type Config } from '../config';
import type { Db } from '../db/client';
import { interfaceMessages, products } from '../db/schema';
import { signRequest, verifyBodySign, type SignedRequest } from '../domain/saas-signing';
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
export function createSellerClient({ db, config }: { db: Db; config: Config }) {
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
    const { reply, stored } = await post(url, accessKey, request, (c.reply ?? baseReply) as ZodType<T>, timeoutMs);
    const judged = (c.judge ?? (defaultJudge as (r: SellerReply<T>) => Judgement))(reply);
    await db.insert(interfaceMessages).values({
      dedupeKey: c.record.dedupeKey, orderLineId: c.record.orderLineId ?? null, productId: product.id, merchantId: product.merchantId,
      activity: c.activity, request: maskSecrets(request), httpStatus: reply.httpStatus ?? null, response: stored,
      resultCode: reply.resultCode ?? null, outcome: judged.outcome, error: judged.error ?? null, latencyMs: reply.latencyMs, at: c.record.at ?? new Date(),
    }).onConflictDoNothing();
    logCall(c, reply, judged);
    return { ...reply, outcome: judged.outcome, error: judged.error ?? null, product: { id: product.id, merchantId: product.merchantId } };
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
export async function sendSigned(url: string, req: { payload: string; query: Partial<SignedRequest['query']> }, timeoutMs: number): Promise<RawReply> {
  const target = new URL(url);
  for (const [k, v] of Object.entries(req.query)) if (v !== undefined) target.searchParams.set(k, v);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let httpStatus: number | undefined;
  try {
    const res = await fetch(target, {
      method: 'POST', headers: { 'content-type': 'application/json;charset=utf-8' }, body: req.payload,
      signal: AbortSignal.timeout(timeoutMs), redirect: 'error',
    });
    httpStatus = res.status;
    const contentType = res.headers.get('content-type');
    const bodySign = res.headers.get('body-sign');
    const body = await readCapped(res, MAX_REPLY_BYTES);
    return { httpStatus, body, latencyMs: elapsed(), ...(contentType ? { contentType } : {}), ...(bodySign ? { bodySign } : {}) };
  } catch (e) {
    return { latencyMs: elapsed(), httpStatus, fault: transportFault(e, timeoutMs) };
  }
}

/** The signed POST itself; `stored` is the reply as it may be kept (masked, bounded). */
async function post<T>(url: string, accessKey: string, request: Record<string, string>, schema: ZodType<T>, timeoutMs: number): Promise<{ reply: SellerReply<T>; stored: string | null }> {
  const sent = await sendSigned(url, signRequest(accessKey, request, Date.now()), timeoutMs);
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
  if (!parsed) return { reply: { ...base, signed, fault: { kind: 'unparseable', message: 'unparseable response body' } }, stored };
  const valid = schema.safeParse(json);
  const resultCode = typeof (json as { resultCode?: unknown })?.resultCode === 'string' ? (json as { resultCode: string }).resultCode : undefined;
  if (!valid.success) {
    const issue = valid.error.issues[0];
    return { reply: { ...base, signed, ...(resultCode ? { resultCode } : {}), fault: { kind: 'unexpected-reply', message: `unexpected response: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid'}` } }, stored };
  }
  return { reply: { ...base, signed, data: valid.data, resultCode: (valid.data as BaseReply).resultCode }, stored };
}

/** Reads at most `max` bytes of the body as UTF-8; a larger reply is cut (a seller cannot fill our memory). */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= max) { await reader.cancel().catch(() => undefined); break; }
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

function transportFault(e: unknown, timeoutMs: number): SellerFault {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return { kind: 'timeout', message: `timeout after ${timeoutMs} ms` };
  const code = err.cause?.code;
  if (code === 'ECONNREFUSED') return { kind: 'refused', message: 'network error: connection refused (ECONNREFUSED)' };
  return { kind: 'network', message: `network error: ${code ?? err.cause?.message ?? err.message}` };
}
