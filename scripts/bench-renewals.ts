/**
 * `npm run bench:renewals -- [N] [LIMIT] [SELLERS] [SELLER_MS]`: N subscriptions whose first renewal attempt falls
 * at the same instant, spread over SELLERS reference sellers (4) that each take SELLER_MS (20) per call, with at most
 * LIMIT (10) calls in flight per seller endpoint (SELLER_ENDPOINT_CONCURRENCY). Prints the time from that instant
 * until every renewal is charged and its refreshInstance accepted, the calls each seller saw (the most in flight,
 * never above LIMIT, and calls per second), and the ratio to N bare workflows woken at one instant that run as
 * many no-op activities as a renewal does, in the same run on the same worker process.
 *
 * The instant is the next whole minute that leaves time to start everything, set as SUBSCRIPTION_RENEWAL_TIME, so
 * the real rule (seven days before expiry, at that time of day in Asia/Shanghai) puts every attempt on it.
 * Needs the test PostgreSQL: DATABASE_URL=$(bash scripts/test-postgres.sh) npm run bench:renewals
 */
import { performance } from 'node:perf_hooks';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { and, count, eq, isNotNull } from 'drizzle-orm';
import { subscriptionStartOptions } from '../workflows/subscription-messages';
import { loadConfig } from '../config';
import { interfaceMessages, subscriptionOrders, subscriptions } from '../db/schema';
import { startReferenceSeller } from '../seller/server';
import {
  countingProxy, inParallel, pause, registerInstances, seedSubscriptions, startBenchServers, startWorkerProcess, runBench, type Seller,
} from './bench-subscription-kit';

const [N, LIMIT, SELLERS, SELLER_MS] = [10_000, 10, 4, 20].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number, number, number];
if (![N, LIMIT, SELLERS, SELLER_MS].every(Number.isInteger) || N < 10 || LIMIT < 1 || SELLERS < 1 || SELLER_MS < 0) {
  console.error('usage: npm run bench:renewals -- [N >= 10] [LIMIT >= 1] [SELLERS >= 1] [SELLER_MS >= 0]');
  process.exit(2);
}
const STARTS_IN_FLIGHT = 32;
/** A renewal that succeeds runs renew, saveSubscription, callSeller and notifyParty (workflows/subscription.ts). */
const ACTIVITIES_PER_RENEWAL = 4;
const DAY = 86_400_000;
Runtime.install({ logger: new DefaultLogger('ERROR') });

/** The next whole minute at least `leadMs` from now, and its Shanghai wall-clock time HH:MM. */
function nextMinute(leadMs: number) {
  const at = Math.ceil((Date.now() + leadMs) / 60_000) * 60_000;
  return { at, hhmm: new Date(at + 8 * 3_600_000).toISOString().slice(11, 16) };
}

await runBench('bench:renewals', async (teardown) => {
  // Seeding, registering the instances with their sellers and starting N workflows take a while on two cores: the
  // instant is set far enough ahead for all of them to be asleep before it (the bench checks).
  const due = nextMinute(120_000 + N * 30);
  const { env, database, workerEnv, taskQueue } = await startBenchServers('bench:renewals', teardown, { SUBSCRIPTION_RENEWAL_TIME: due.hhmm, SELLER_ENDPOINT_CONCURRENCY: String(LIMIT) });
  const sellers: Seller[] = [];
  const direct: string[] = [];
  const proxies = [];
  for (let i = 0; i < SELLERS; i++) {
    const accessKey = `bench-renewals-seller-key-${i}`;
    const seller = await startReferenceSeller({ accessKey, port: 0 });
    seller.faults.slowMs = SELLER_MS;
    teardown.add(`seller ${i}`, () => seller.close());
    const proxy = await countingProxy(seller.url);
    teardown.add(`proxy ${i}`, () => proxy.close());
    sellers.push({ url: proxy.url, accessKey });
    direct.push(seller.url);
    proxies.push(proxy);
  }

  await seedSubscriptions(database.url, {
    n: N, sellers, priceCents: 1000, balanceCents: 1000, deliveredAt: new Date(due.at + 7 * DAY - 30 * DAY), expiresAt: new Date(due.at + 7 * DAY), policy: 'auto_renew',
  });
  await registerInstances(N, sellers, direct);
  for (const p of proxies) { p.stats.calls = 0; p.stats.maxInFlight = 0; p.stats.perSecond.clear(); }
  const config = loadConfig(workerEnv);
  const worker = await startWorkerProcess(workerEnv);
  teardown.add('worker process', () => worker.stop());

  console.log(`bench:renewals — N=${N} renewals due at ${new Date(due.at).toISOString()} (${due.hhmm} Asia/Shanghai), ${SELLERS} sellers at ${SELLER_MS} ms a call, at most ${LIMIT} in flight per seller endpoint`);
  const rows = await database.db.select().from(subscriptions);
  const t0 = performance.now();
  await inParallel(N, STARTS_IN_FLIGHT, (i) => env.client.workflow.start('subscription', subscriptionStartOptions(rows[i]!, config.TEMPORAL_TASK_QUEUE)));
  const asleep = async () => (await database.db.select({ n: count() }).from(subscriptions).where(isNotNull(subscriptions.nextActionAt)))[0]!.n;
  while ((await asleep()) < N) await pause(500);
  console.log(`started and asleep in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (Date.now() >= due.at) throw new Error('the subscriptions were not all asleep before the renewal instant; run again (the lead grows with N)');

  // Renewed: the order is charged, and the seller accepted its refreshInstance.
  const renewed = async () => (await database.db.select({ n: count() }).from(subscriptionOrders).where(eq(subscriptionOrders.kind, 'renewal')))[0]!.n;
  const told = async () => (await database.db.select({ n: count() }).from(interfaceMessages).where(and(eq(interfaceMessages.activity, 'refreshInstance'), eq(interfaceMessages.outcome, 'success'))))[0]!.n;
  await pause(due.at - Date.now());
  const waveStart = Date.now();
  let charged = 0;
  let chargedAt = 0;
  for (;;) {
    const [r, t] = [await renewed(), await told()];
    if (r === N && !chargedAt) { charged = r; chargedAt = Date.now() - waveStart; }
    if (r === N && t === N) break;
    if (Date.now() - waveStart > 3_600_000) throw new Error(`after an hour ${r} renewed, ${t} told`);
    await pause(250);
  }
  const waveMs = Date.now() - waveStart;

  // The baseline: N bare workflows asleep until one instant, then as many no-op activities as a renewal.
  const bareAt = nextMinute(60_000 + N * 10).at;
  const noopsBefore = await worker.noops();
  await inParallel(N, STARTS_IN_FLIGHT, (i) => env.client.workflow.start('sleepThenNoops', {
    workflowId: `bare-${i}-${taskQueue}`, taskQueue: `${taskQueue}-baseline`, args: [bareAt, ACTIVITIES_PER_RENEWAL],
  }));
  if (Date.now() >= bareAt) throw new Error('the baseline workflows were not all started before their instant');
  await pause(bareAt - Date.now());
  const bareStart = Date.now();
  while ((await worker.noops()) - noopsBefore < N * ACTIVITIES_PER_RENEWAL) await pause(250);
  const bareMs = Date.now() - bareStart;

  console.log(`renewals: ${charged} charged after ${(chargedAt / 1000).toFixed(1)} s; all ${N} renewed and told to their sellers after ${(waveMs / 1000).toFixed(1)} s (${(N / (waveMs / 1000)).toFixed(0)}/s)`);
  proxies.forEach((p, i) => {
    const rates = [...p.stats.perSecond.values()];
    const peak = Math.max(0, ...rates);
    console.log(`  seller ${i}: ${p.stats.calls} calls, at most ${p.stats.maxInFlight} in flight (limit ${LIMIT})${p.stats.maxInFlight > LIMIT ? '  LIMIT EXCEEDED' : ''}, peak ${peak}/s, mean ${(p.stats.calls / Math.max(1, rates.length)).toFixed(0)}/s over ${rates.length} s`);
  });
  console.log(`baseline: ${N} bare workflows × ${ACTIVITIES_PER_RENEWAL} no-op activities after ${(bareMs / 1000).toFixed(1)} s`);
  console.log(`ratio renewals/baseline: ${(waveMs / bareMs).toFixed(2)}x the time`);
  console.log(`${N} renewals at 03:00 would be done by 03:${String(Math.floor(waveMs / 60_000)).padStart(2, '0')} (target: well before 04:00)`);
  if (proxies.some((p) => p.stats.maxInFlight > LIMIT)) throw new Error('a seller saw more calls in flight than its limit');
});
