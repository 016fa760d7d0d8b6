import {
  ActivityFailure, allHandlersFinished, condition, continueAsNew, patched, proxyActivities, setCurrentDetails, workflowInfo,
} from '@temporalio/workflow';
import type { DialTestActivities } from '../activities/dial-tests';
import type { NotifyActivities } from '../activities/notify';
import { DB_WRITES, notifications } from './activity-options';
import { legacyDialTestRound } from './legacy/dial-tests-v1';
import { failureOf } from './stuck';
import { shanghai } from './time';

export const DIAL_TEST_SCHEDULE_ID = 'dial-tests';
/** The patch that marks version 2 (decision 013): rounds without it replay workflows/legacy/dial-tests-v1.ts. */
export const DIAL_ROUND_V2 = 'dial-round-v2-paged';
/** Products per run of a round (then it continues as new), and products dialed at once. */
export const DIAL_PAGE = 200;
export const DIAL_CONCURRENCY = 20;
/** The written bound of one run (docs/dial-tests.md), asserted by tests/workflows/dial-tests.test.ts. */
export const DIAL_RUN_HISTORY_BOUND = 20 * DIAL_PAGE + 100;

const list = proxyActivities<DialTestActivities>(DB_WRITES);
// One product: at most 10 cases of at most 20 s each; a heartbeat after each case.
const dial = proxyActivities<DialTestActivities>({
  startToCloseTimeout: '4 minutes', heartbeatTimeout: '1 minute', retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 3 },
});
const notify = proxyActivities<NotifyActivities>(notifications('1 hour'));

export interface DialRoundTotals { products: number; dialed: number; failed: number; frozen: number; skipped: number; failedSample: string[] }
export interface DialRoundInput {
  /** Set by the first run and carried on: `workflowId:firstRunId`, the key of the round's results. */
  roundId?: string;
  /** ISO 8601 instant of the round; its Asia/Shanghai day is the day the runs count for. */
  at?: string;
  /** The last product id of the previous page. */
  after?: string | null;
  totals?: DialRoundTotals;
}
export type DialRoundResult = DialRoundTotals & { roundId: string; at: string };

/** Runs `fn` over `items`, at most `size` at once, in a deterministic order. */
async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lane = async () => { while (next < items.length) await fn(items[next++]!); };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, lane));
}

/**
 * One dial-test round, started by the `dial-tests` Schedule at 09:00 and 15:00 Asia/Shanghai
 * (docs/dial-tests.md): every SaaS product on sale, a page of DIAL_PAGE per run (then continue-as-new),
 * DIAL_CONCURRENCY products at once, each one activity that replays its saved cases and judges its
 * streak; sellers are told of failures and freezes. Our own faults skip a product (not counted against it).
 */
export async function dialTestRound(input: DialRoundInput = {}): Promise<DialRoundResult | { products: number; failed: string[]; frozen: string[] }> {
  if (!patched(DIAL_ROUND_V2)) return legacyDialTestRound();
  const info = workflowInfo();
  const roundId = input.roundId ?? `${info.workflowId}:${info.runId}`;
  const at = input.at ?? new Date().toISOString();
  const totals: DialRoundTotals = input.totals ?? { products: 0, dialed: 0, failed: 0, frozen: 0, skipped: 0, failedSample: [] };
  const skippedBy: string[] = [];

  const page = await list.listDialPage({ after: input.after ?? null, limit: DIAL_PAGE });
  await pool(page, DIAL_CONCURRENCY, async (productId) => {
    totals.products++;
    let r;
    try {
      r = await dial.dialAndJudge({ productId, roundId, at });
    } catch (e) {
      if (!(e instanceof ActivityFailure)) throw e;
      totals.skipped++;
      skippedBy.push(`${productId}: ${failureOf(e).type}`);
      return;
    }
    if (!r) return;
    totals.dialed++;
    if (r.passed) return;
    totals.failed++;
    if (totals.failedSample.length < 20) totals.failedSample.push(productId);
    const party = { kind: 'merchant' as const, merchantId: r.merchantId };
    await notify.notifyParty({ dedupeKey: `${roundId}:${productId}:dial`, party, template: 'dial.failed', vars: { productId, failures: r.failures } }).catch(() => undefined);
    if (r.frozeNow) {
      totals.frozen++;
      await notify.notifyParty({ dedupeKey: `${roundId}:${productId}:frozen`, party, template: 'dial.frozen', vars: { productId, days: r.failingDays } }).catch(() => undefined);
    }
  });
  if (skippedBy.length) {
    // Our own faults: operators hear of them; the products are not judged this round.
    await notify.notifyParty({
      dedupeKey: `${roundId}:${input.after ?? 'first'}:skipped`, party: { kind: 'supervisors' }, template: 'dial.skipped',
      vars: { roundId, products: skippedBy.slice(0, 20) },
    }).catch(() => undefined);
  }
  setCurrentDetails(`round of ${shanghai(Date.parse(at))} · ${totals.products} products · ${totals.dialed} dialed · ${totals.failed} failed · ${totals.frozen} frozen · ${totals.skipped} skipped (our faults)`);
  if (page.length === DIAL_PAGE) {
    await condition(allHandlersFinished);
    await continueAsNew<typeof dialTestRound>({ roundId, at, after: page.at(-1)!, totals });
  }
  return { roundId, at, ...totals };
}
