/** What the API and the seller conformance workflow share. Imported by workflow code: no Node dependencies. */

export const sellerConformanceWorkflowId = (runId: string) => `seller-conformance:${runId}`;

export interface ConformanceInput {
  runId: string;
  productId: string;
  merchantId: string;
  /** The kit's options, snapshotted from configuration when the run was requested. */
  timeoutMs: number;
  pollWindowMs: number;
  pollIntervalMs: number;
  periodic: boolean;
}

/** error: the marketplace could not run the kit (its own fault); nothing is held against the seller. */
export interface ConformanceOutcome { status: 'passed' | 'failed' | 'error'; failures: string[]; error?: string }
