/** Signed calls to a reference seller at a test-controlled clock, shared by the seller's test files. */
import { signRequest, type SignedRequest } from '../../domain/saas-signing';
import { startReferenceSeller, type ReferenceSeller, type SellerOptions } from '../../seller/server';

export const AK = 'reference-seller-key-0123456789';
export const T0 = 1_700_000_000_000;

export interface SellerHarness {
  /** The seller's clock; tests move it. */
  clock: number;
  seller: ReferenceSeller | undefined;
  start(o?: Partial<SellerOptions>): Promise<ReferenceSeller>;
  close(): Promise<void>;
}

export function sellerHarness(): SellerHarness {
  const h: SellerHarness = {
    clock: T0,
    seller: undefined,
    async start(o = {}) {
      h.clock = T0;
      h.seller = await startReferenceSeller({ accessKey: AK, now: () => h.clock, ...o });
      return h.seller;
    },
    async close() {
      await h.seller?.close();
      h.seller = undefined;
    },
  };
  return h;
}

export async function post(s: ReferenceSeller, req: SignedRequest) {
  const q = new URLSearchParams(req.query);
  const res = await fetch(`${s.url}?${q}`, { method: 'POST', headers: { 'Content-Type': 'application/json;charset=utf8' }, body: req.payload });
  const raw = await res.text();
  return { status: res.status, raw, json: JSON.parse(raw) as Record<string, unknown>, headers: res.headers };
}

export const newInstance = (line: string, businessId: string, extra: Record<string, string> = {}) =>
  ({ activity: 'newInstance', orderId: 'CS2211181819B4LVS', orderLineId: `CS2211181819B4LVS-${line}`, businessId, ...extra });

/** Signs with the seller's key at the harness clock unless told otherwise. */
export const caller = (h: SellerHarness) =>
  (s: ReferenceSeller, body: Record<string, string>, o: { key?: string; at?: number; nonce?: string } = {}) =>
    post(s, signRequest(o.key ?? AK, body, o.at ?? h.clock, o.nonce));
