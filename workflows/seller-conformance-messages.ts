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

/** What the run found; `failures` are "check: why" for each failed check. */
export interface ConformanceOutcome { status: 'passed' | 'failed'; failures: string[] }
