/**
 * `npm run bench:subscriptions -- [N]` (N = 10,000 by default): N subscriptions started on the Temporal dev server,
 * left asleep until their first renewal attempt weeks away, beside N bare workflows started the same way in the
 * same run (as many no-op activities as a subscription runs before it sleeps, then a sleep). Prints the time to
 * start each set until every workflow is asleep, their ratio, and the worker process's resident memory and CPU
 * before, and while the 2N workflows sleep.
 *
 * Needs the test PostgreSQL: DATABASE_URL=$(bash scripts/test-postgres.sh) npm run bench:subscriptions
 */
import { performance } from 'node:perf_hooks';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { isNotNull, count } from 'drizzle-orm';
import { subscriptionStartOptions } from '../workflows/subscription-messages';
import { loadConfig } from '../config';
import { subscriptions } from '../db/schema';
import {
  inParallel, pause, processStats, seedSubscriptions, startBenchServers, startWorkerProcess, runBench, watchProcess,
} from './bench-subscription-kit';

const N = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(N) || N < 10) { console.error('usage: npm run bench:subscriptions -- [N >= 10]'); process.exit(2); }
const STARTS_IN_FLIGHT = 32;
/** A subscription runs beginSubscription and saveSubscription before it sleeps (workflows/subscription.ts). */
const ACTIVITIES_BEFORE_SLEEP = 2;
const DAY = 86_400_000;
Runtime.install({ logger: new DefaultLogger('ERROR') });

await runBench('bench:subscriptions', async (teardown) => {
  const { env, database, workerEnv, taskQueue } = await startBenchServers('bench:subscriptions', teardown);
  const now = Date.now();
  // Delivered now, expiring in a month: the first attempt is three weeks away, so every subscription sleeps.
  await seedSubscriptions(database.url, { n: N, sellers: [{ url: 'http://127.0.0.1:9/saasproduce', accessKey: 'bench-unused-key-0000' }], priceCents: 1000, balanceCents: 0, deliveredAt: new Date(now), expiresAt: new Date(now + 30 * DAY), policy: 'auto_renew' });
  const config = loadConfig(workerEnv);
  const worker = await startWorkerProcess(workerEnv);
  teardown.add('worker process', () => worker.stop());
  await pause(3000);
  const idle = await watchProcess(worker.child.pid!, 5000);

  console.log(`bench:subscriptions — N=${N}, ${STARTS_IN_FLIGHT} starts in flight, Temporal dev server + PostgreSQL, worker in its own process`);
  const rows = await database.db.select().from(subscriptions);
  const asleep = async () => (await database.db.select({ n: count() }).from(subscriptions).where(isNotNull(subscriptions.nextActionAt)))[0]!.n;

  let t0 = performance.now();
  await inParallel(N, STARTS_IN_FLIGHT, (i) => env.client.workflow.start('subscription', subscriptionStartOptions(rows[i]!, config.TEMPORAL_TASK_QUEUE)));
  const subStarted = performance.now() - t0;
  while ((await asleep()) < N) await pause(200);
  const subAsleep = performance.now() - t0;

  t0 = performance.now();
  const noopsBefore = await worker.noops();
  await inParallel(N, STARTS_IN_FLIGHT, (i) => env.client.workflow.start('noopsThenSleep', {
    workflowId: `bare-${i}-${taskQueue}`, taskQueue: `${taskQueue}-baseline`, args: [ACTIVITIES_BEFORE_SLEEP, 30 * DAY],
  }));
  const bareStarted = performance.now() - t0;
  while ((await worker.noops()) - noopsBefore < N * ACTIVITIES_BEFORE_SLEEP) await pause(200);
  const bareAsleep = performance.now() - t0;

  await pause(5000);
  const sleeping = await watchProcess(worker.child.pid!, 30_000);
  const s = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
  console.log(`subscriptions: started in ${s(subStarted)} (${(N / (subStarted / 1000)).toFixed(0)}/s), all asleep after ${s(subAsleep)}`);
  console.log(`bare workflows (${ACTIVITIES_BEFORE_SLEEP} no-op activities, then a sleep): started in ${s(bareStarted)}, all asleep after ${s(bareAsleep)}`);
  console.log(`ratio subscriptions/bare: start ${(subStarted / bareStarted).toFixed(2)}x, until asleep ${(subAsleep / bareAsleep).toFixed(2)}x`);
  console.log(`worker process: idle before ${idle.rssMb.toFixed(0)} MB RSS, ${idle.cpuPercent.toFixed(1)}% CPU; with ${2 * N} workflows asleep ${sleeping.rssMb.toFixed(0)} MB RSS, ${sleeping.cpuPercent.toFixed(1)}% CPU over 30 s`);
  console.log(`worker CPU time in total: ${processStats(worker.child.pid!).cpuSeconds.toFixed(1)} s`);
});
