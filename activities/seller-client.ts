import { z } from 'zod';
import { signRequest, verifyBodySign } from '../domain/saas-signing';

/** A queryInstance answer as the spec describes it (§1.5.2); anything else counts as not ready. */
export const queryInstanceReply = z.object({
  resultCode: z.string().regex(/^\d{6}$/),
  resultMsg: z.string().optional(),
  info: z.array(z.object({
    instanceId: z.string(),
    appInfo: z.object({
      frontEndUrl: z.string().max(512), adminUrl: z.string().max(512).optional(),
      userName: z.string().max(128).optional(), password: z.string().max(128).optional(), memo: z.string().max(1024).optional(),
    }).optional(),
    usageInfo: z.array(z.object({ usageValue: z.number(), statisticalTime: z.string(), relatedInstanceId: z.string().optional(), dashboardUrl: z.string().optional() })).optional(),
  })).optional(),
});

export interface SellerReply { latencyMs: number; httpStatus?: number; raw?: string; json?: unknown; error?: string }

/**
 * One signed POST to a seller's production interface (V2). Never throws for the seller's faults:
 * they come back as `error`, because every attempt is recorded and the caller decides what follows.
 */
export async function postToSeller(url: string, accessKey: string, body: Record<string, string>, timeoutMs: number): Promise<SellerReply> {
  const { payload, query } = signRequest(accessKey, body, Date.now());
  const target = new URL(url);
  for (const [k, v] of Object.entries(query)) target.searchParams.set(k, v);
  const started = performance.now();
  try {
    const res = await fetch(target, {
      method: 'POST', headers: { 'content-type': 'application/json;charset=utf-8' }, body: payload,
      signal: AbortSignal.timeout(timeoutMs), redirect: 'error',
    });
    const raw = (await res.text()).slice(0, 64 * 1024);
    const latencyMs = Math.round(performance.now() - started);
    if (res.status !== 200) return { latencyMs, httpStatus: res.status, raw, error: `HTTP ${res.status}` };
    const sign = res.headers.get('body-sign');
    if (sign && !verifyBodySign(accessKey, raw, sign)) return { latencyMs, httpStatus: 200, raw, error: 'the Body-Sign header does not match the body' };
    try {
      return { latencyMs, httpStatus: 200, raw, json: JSON.parse(raw) };
    } catch {
      return { latencyMs, httpStatus: 200, raw, error: 'unparseable response body' };
    }
  } catch (e) {
    const err = e as Error;
    return { latencyMs: Math.round(performance.now() - started), error: err.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : `network error: ${err.message}` };
  }
}
