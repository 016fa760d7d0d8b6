/**
 * What the seller conformance kit checks, and the shape of its report. Each check is one mistake
 * sellers make with the production interface V2 (koogallery-spec §1); docs/seller-conformance.md
 * says how each is probed.
 */

export const CHECKS = [
  { id: 'new-instance', title: 'newInstance answers HTTP 200 with JSON: resultCode from the spec\'s list, resultMsg, instanceId', spec: '§1.1, §1.5.1, §1.6' },
  { id: 'timeout', title: 'every call is answered within the marketplace\'s timeout', spec: '§1.1' },
  { id: 'resend-same-instance', title: 'the same order line sent again (new businessId, new nonce) gets the same instanceId', spec: '§1.5.1, §1.8' },
  { id: 'new-line-new-instance', title: 'a new order line gets a new instanceId', spec: '§1.5.1' },
  { id: 'forged-signature', title: 'a forged or missing signature is refused and creates nothing', spec: '§1.2' },
  { id: 'stale-timestamp', title: 'a timestamp more than 60 s old is refused and creates nothing', spec: '§1.2' },
  { id: 'replayed-nonce', title: 'a replayed call (same nonce) is refused', spec: '§1.2' },
  { id: 'tampered-body', title: 'a body changed after signing is refused and creates nothing', spec: '§1.2' },
  { id: 'raw-body-signature', title: 'the signature is checked on the raw body: a signed body in another JSON layout is accepted', spec: '§1.2' },
  { id: 'async-ready', title: 'instances provisioned asynchronously (000004) become ready within the polling window', spec: '§1.4, §1.5.1' },
  { id: 'query-one', title: 'queryInstance for one id answers it', spec: '§1.5.2' },
  { id: 'query-many', title: 'queryInstance for several ids in one call answers each', spec: '§1.5.2' },
  { id: 'query-unknown', title: 'queryInstance for an unknown id is handled (000000 without it, or 000003)', spec: '§1.5.2, §1.6' },
  { id: 'refresh', title: 'refreshInstance (RENEWAL) answers 000000', spec: '§1.5.3' },
  { id: 'freeze-unfreeze', title: 'updateInstanceStatus FREEZE and UNFREEZE answer 000000', spec: '§1.5.4' },
  { id: 'release', title: 'releaseInstance answers 000000', spec: '§1.5.5' },
  { id: 'release-repeated', title: 'releaseInstance repeated is still a success', spec: '§1.5.5, §1.8' },
  { id: 'body-sign', title: 'Body-Sign on replies verifies (the report says when it is missing)', spec: '§1.3' },
] as const;

export type CheckId = (typeof CHECKS)[number]['id'];

/** warning: worth fixing but allowed by the spec; skipped: not applicable, or a check it depends on failed. */
export type CheckStatus = 'passed' | 'failed' | 'warning' | 'skipped';

/** One call of the run: what was sent and what came back, enough to show a seller why a check failed. */
export interface Exchange {
  label: string;
  request: { url: string; body: string };
  reply: { httpStatus?: number; contentType?: string; bodySign?: string; body?: string; latencyMs: number; error?: string };
}

export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  detail: string;
  exchanges: Exchange[];
}

export interface ConformanceReport {
  kit: 'koogallery-seller-conformance/1';
  runId: string;
  url: string;
  keyId: string;
  startedAt: string;
  finishedAt: string;
  options: { timeoutMs: number; pollWindowMs: number; periodic: boolean };
  passed: boolean;
  counts: Record<CheckStatus, number>;
  checks: CheckResult[];
}

export const titleOf = (id: CheckId): string => CHECKS.find((c) => c.id === id)!.title;

/** "check: why" for each failed check, as the seller's message and the API list them. */
export const failuresOf = (r: ConformanceReport): string[] => r.checks.filter((c) => c.status === 'failed').map((c) => `${c.id}: ${c.detail}`);
