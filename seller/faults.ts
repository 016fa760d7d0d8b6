/**
 * The reference seller's fault switches: one mutable options object, so a test, the command line
 * or an operator's demo can change them while the seller runs. Each switch is one mistake a real
 * seller makes; the conformance kit (conformance/) has a check that catches each.
 */
import { parseArgs } from 'node:util';

export interface SellerFaults {
  /** Answer HTTP 503 to everything until this instant (seller clock, ms). */
  downUntil?: number;
  /** Result codes newInstance answers next, one per call (000000/000004 decide how it provisions). */
  resultCodes?: string[];
  /** Wait this long before every answer. */
  slowMs?: number;
  /** newInstance answers this instance id, even for a resend of a known line. */
  instanceIdOverride?: string;
  /** Never compare the signature: any value, or none, passes. */
  acceptAnySignature?: boolean;
  /** Accept any timestamp, however old. */
  noTimestampCheck?: boolean;
  /** Keep no nonces: a replayed call is served again. */
  noNonceCheck?: boolean;
  /** Hash the parsed body re-serialized (sorted, compact) instead of the raw bytes that were signed. */
  reserializedSignature?: boolean;
  /** A new instance for every newInstance call, even a resend of the same order line. */
  newInstancePerCall?: boolean;
  /** newInstance success answers carry no resultCode or resultMsg. */
  noResultCode?: boolean;
  /** newInstance success answers say Content-Type: text/plain. */
  wrongContentType?: boolean;
  /** No Body-Sign header on answers. */
  noBodySign?: boolean;
  /** A Body-Sign header that does not match the body. */
  wrongBodySign?: boolean;
  /** newInstance answers 000004 and the instance never becomes ready. */
  asyncNeverReady?: boolean;
  /** queryInstance answers only the first id of a list. */
  queryFirstIdOnly?: boolean;
  /** queryInstance with an id it does not know fails with HTTP 500 and a text body. */
  unknownIdError?: boolean;
  /** refreshInstance answers 000005. */
  refreshFails?: boolean;
  /** updateInstanceStatus answers 000005. */
  statusFails?: boolean;
  /** A repeated releaseInstance answers 000003. */
  releaseOnce?: boolean;
}

type Flag = { flag: string; key: keyof SellerFaults; help: string; value?: 'ms' };

/** The command-line switches (`npm run seller -- --no-nonce-check --slow 6000`), one per mistake. */
export const FAULT_FLAGS: Flag[] = [
  { flag: 'accept-any-signature', key: 'acceptAnySignature', help: 'never compare signatures' },
  { flag: 'no-timestamp-check', key: 'noTimestampCheck', help: 'accept timestamps of any age' },
  { flag: 'no-nonce-check', key: 'noNonceCheck', help: 'serve replayed calls again' },
  { flag: 'reserialized-signature', key: 'reserializedSignature', help: 'check the signature on the re-serialized body, not the raw bytes' },
  { flag: 'new-instance-per-call', key: 'newInstancePerCall', help: 'a new instance for every newInstance, even a resend' },
  { flag: 'no-result-code', key: 'noResultCode', help: 'newInstance answers 200 without resultCode/resultMsg' },
  { flag: 'wrong-content-type', key: 'wrongContentType', help: 'newInstance answers Content-Type: text/plain' },
  { flag: 'slow', key: 'slowMs', value: 'ms', help: 'wait MS milliseconds before every answer' },
  { flag: 'no-body-sign', key: 'noBodySign', help: 'no Body-Sign header on answers' },
  { flag: 'wrong-body-sign', key: 'wrongBodySign', help: 'a Body-Sign header that does not match the body' },
  { flag: 'async-never-ready', key: 'asyncNeverReady', help: 'newInstance answers 000004 and the instance never becomes ready' },
  { flag: 'query-first-id-only', key: 'queryFirstIdOnly', help: 'queryInstance answers only the first of several ids' },
  { flag: 'unknown-id-error', key: 'unknownIdError', help: 'queryInstance fails with HTTP 500 on an unknown id' },
  { flag: 'refresh-fails', key: 'refreshFails', help: 'refreshInstance answers 000005' },
  { flag: 'status-fails', key: 'statusFails', help: 'updateInstanceStatus answers 000005' },
  { flag: 'release-once', key: 'releaseOnce', help: 'a repeated releaseInstance answers 000003' },
];

/** Parses the fault switches out of argv; unknown arguments are an error naming them. */
export function parseFaultArgs(argv: string[]): SellerFaults {
  const { values } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: Object.fromEntries(FAULT_FLAGS.map((f) => [f.flag, { type: f.value ? 'string' : 'boolean' }] as const)),
  });
  const faults: SellerFaults = {};
  for (const f of FAULT_FLAGS) {
    const v = values[f.flag];
    if (v === undefined) continue;
    if (f.value === 'ms') {
      if (typeof v !== 'string' || !/^\d{1,7}$/.test(v)) throw new Error(`--${f.flag} takes a number of milliseconds, got ${String(v)}`);
      (faults as Record<string, unknown>)[f.key] = Number(v);
    } else (faults as Record<string, unknown>)[f.key] = true;
  }
  return faults;
}

/** The switches that are on, as command-line flags (for start-up lines and reports). */
export const describeFaults = (f: SellerFaults): string[] =>
  FAULT_FLAGS.filter((x) => f[x.key] !== undefined && f[x.key] !== false).map((x) => (x.value ? `--${x.flag} ${String(f[x.key])}` : `--${x.flag}`));
