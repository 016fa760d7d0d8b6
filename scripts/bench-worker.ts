/**
 * The worker process of the subscription benches (scripts/bench-subscriptions.ts, bench-renewals.ts): the real
 * worker (every workflow and activity, configured from the environment like main.ts) and, on the queue
 * `<TEMPORAL_TASK_QUEUE>-baseline`, the bare baseline workflows of scripts/bench-workflows.ts, so the bench reads
 * one process's memory and CPU. It tells its parent (IPC) when it runs and how many no-op activities it ran.
 */
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { createWorker } from '../worker';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const config = loadConfig();
const database = await openDatabase({ url: config.DATABASE_URL, poolSize: 20 });
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
const worker = await createWorker({
  connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, db: database.db, config,
  ...(config.WORKER_MAX_CACHED_WORKFLOWS !== undefined ? { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS } : {}),
});
let noops = 0;
const baseline = await Worker.create({
  connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: `${config.TEMPORAL_TASK_QUEUE}-baseline`,
  workflowsPath: fileURLToPath(new URL('./bench-workflows.ts', import.meta.url)),
  activities: { noop: async () => { noops++; } },
});
process.on('message', (m) => { if (m === 'noops') process.send?.({ noops }); });
const stop = () => { for (const w of [worker, baseline]) if (w.getState() === 'RUNNING') w.shutdown(); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
const running = Promise.all([worker.run(), baseline.run()]);
process.send?.({ ready: true });
await running;
await connection.close();
await database.close();
process.exit(0);
