/**
 * How the kit sends one prepared (signed, possibly deliberately broken) request and gets the raw
 * reply back, whatever it is. TEMPORARY: replaced by the one seller client's low-level send once
 * issue 9 lands it on main.
 */
import type { SignedRequest } from '../domain/saas-signing';

export interface RawReply { httpStatus?: number; contentType?: string; bodySign?: string; body?: string; latencyMs: number; error?: string }

/** Sends `req.payload` as it is to `url` with `query` (parameters absent from it are not sent). */
export type Transport = (url: string, req: { payload: string; query: Partial<SignedRequest['query']> }, timeoutMs: number) => Promise<RawReply>;

const MAX_REPLY = 64 * 1024;

export const fetchTransport: Transport = async (url, req, timeoutMs) => {
  const target = new URL(url);
  for (const [k, v] of Object.entries(req.query)) if (v !== undefined) target.searchParams.set(k, v);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(target, {
      method: 'POST', headers: { 'content-type': 'application/json;charset=utf-8' }, body: req.payload,
      signal: AbortSignal.timeout(timeoutMs), redirect: 'error',
    });
    const body = (await res.text()).slice(0, MAX_REPLY);
    return {
      httpStatus: res.status, body, latencyMs: elapsed(),
      ...(res.headers.get('content-type') ? { contentType: res.headers.get('content-type')! } : {}),
      ...(res.headers.get('body-sign') ? { bodySign: res.headers.get('body-sign')! } : {}),
    };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return { latencyMs: elapsed(), error: err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `network error: ${err.cause?.code ?? err.message}` };
  }
};
