import { ApplicationFailure } from '@temporalio/common';

/**
 * Our own faults on the way to a seller: configuration, keys or rows the marketplace itself lacks.
 * They are never the seller's, so callers must not count them against a seller (no failed attempt,
 * no notice, no dial-test failure): a process that meets one waits for operators instead.
 * An ApplicationFailure, so it crosses Temporal with its type and as non-retryable.
 */
export const OUR_FAULT = 'MarketplaceFault';
export type OurFaultReason = 'master-key-missing' | 'decrypt-failed' | 'product-missing' | 'no-production-interface';

export class OurFault extends ApplicationFailure {
  constructor(public readonly reason: OurFaultReason, message: string) {
    super(message, OUR_FAULT, true, [{ reason }]);
  }
}

/** True for an OurFault thrown here, or one that came back through Temporal (an ActivityFailure's cause). */
export function isOurFault(e: unknown): boolean {
  for (let c = e as { type?: unknown; cause?: unknown } | undefined, depth = 0; c && depth < 5; c = c.cause as typeof c, depth++) {
    if (c instanceof OurFault || c.type === OUR_FAULT) return true;
  }
  return false;
}

/**
 * The seller's faults: what its interface did wrong. They come back as values, not exceptions,
 * because every attempt is recorded and the caller's process decides what follows.
 */
export type SellerFault =
  | { kind: 'timeout'; message: string }
  | { kind: 'refused'; message: string }
  | { kind: 'network'; message: string }
  | { kind: 'http-status'; status: number; message: string }
  | { kind: 'bad-body-sign'; message: string }
  | { kind: 'unparseable'; message: string }
  | { kind: 'unexpected-reply'; message: string }
  /** The production URL or an address it resolved to is one the marketplace does not call (seller-client/address-guard.ts). */
  | { kind: 'address-refused'; message: string }
  /** The product requires a Body-Sign and the reply had none. */
  | { kind: 'unsigned'; message: string };
