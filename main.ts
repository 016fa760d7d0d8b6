import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createArtifactStore } from './artifacts';
import { createApp } from './api/app';
import { listen } from './api/edge';
import { createOrderService } from './api/order-service';
import { createSubscriptionService } from './api/subscription-service';
import { createReviewIntake } from './api/review-intake';
import { createImageService } from './api/image-service';
import { createProductReviewService } from './api/product-review-service';
import { runSweeps } from './api/sweeps';
import { createConformanceIntake } from './api/conformance-intake';
import { ensureDialTestSchedule, ensureReconcileSchedule } from './api/schedules';
import { ConfigError, loadConfig, secretBoxOf, type Config } from './config';
import { calendarWarning, DEMO_WARNING } from './api/health';
import { incompleteCalendarYears } from './db/calendar';
import { openDatabase } from './db/client';
import { createLogger, installTemporalLogging } from './logging';
import { resealSecrets } from './db/reseal';
import { safeError } from './observability/safe-error';
import { clientTracing, setupTracing } from './observability/tracing';
import { createWorker } from './worker';

/** Connects to Temporal or PostgreSQL, waiting for a server that is still starting (make start and the cluster launch them together). */
async function connectWithRetry<T>(connect: () => Promise<T>, what: string, log: Logger, seconds = 60): Promise<T> {
  for (let waited = 0; ; waited++) {
    try {
      return await connect();
    } catch (e) {
      if (waited >= seconds) throw e;
      if (waited % 10 === 0) log.info(`waiting for ${what}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export async function run(config: Config) {
  const log = createLogger(config);
  installTemporalLogging(log, config.WORKER_METRICS_ADDRESS);
  // Before any client or worker: their interceptors find the tracer provider (off unless configured).
  setupTracing({ otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  // PostgreSQL may be starting, or restarting, with this process (a cluster, a crash): wait for it as for Temporal.
  const open = () => openDatabase({ url: config.DATABASE_URL, pgliteDir: config.PGLITE_DIR });
  const database = config.DATABASE_URL ? await connectWithRetry(open, 'the database', log) : await open();
  log.info({ database: database.kind }, 'database ready');
  for (const year of await incompleteCalendarYears(database.db)) log.warn(calendarWarning(year));
  if (config.DEMO_FAST) log.warn(DEMO_WARNING);

  let worker: Worker | undefined;
  let workerDone: Promise<void> | undefined;
  let server: Server | undefined;
  let stopIntake: (() => Promise<void>) | undefined;
  let clientConnection: Connection | undefined;
  let nativeConnection: NativeConnection | undefined;
  let workerClient: Client | undefined;

  if (config.RUN_WORKER) {
    nativeConnection = await connectWithRetry(() => NativeConnection.connect({ address: config.TEMPORAL_ADDRESS }), `Temporal at ${config.TEMPORAL_ADDRESS}`, log);
    // The reconciliation's activities ask Temporal about workflows, and start-up creates the Schedules: one client.
    workerClient = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
    worker = await createWorker({
      connection: nativeConnection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, db: database.db, config,
      maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS, temporal: workerClient,
    });
    workerDone = worker.run();
    // Writes cut short by a killed process leave partial files or open multipart uploads: clear day-old ones.
    const artifacts = createArtifactStore(config);
    const sweepArtifacts = () => artifacts.sweepPartials(86_400_000).catch((e: unknown) => log.warn({ err: safeError(e) }, 'artifact sweep failed'));
    void sweepArtifacts();
    setInterval(sweepArtifacts, 3_600_000).unref();
    log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker running');
    // Values sealed under an older master key are re-sealed under MASTER_KEY, in the background.
    const box = secretBoxOf(config);
    if (box) {
      void resealSecrets(database.db, box).then(
        (r) => { if (r.resealed || r.unreadable) log.info(r, 'secrets re-sealed under the current master key'); },
        (e: unknown) => log.warn({ err: safeError(e) }, 're-sealing secrets failed; the next start tries again'),
      );
    }
    if (config.CREATE_SCHEDULES) {
      log.info({ schedule: await ensureDialTestSchedule(workerClient, config.TEMPORAL_TASK_QUEUE) }, 'dial-test schedule');
      log.info({ schedule: await ensureReconcileSchedule(workerClient, config.TEMPORAL_TASK_QUEUE, { everyMinutes: config.RECONCILE_EVERY_MINUTES, graceMs: config.RECONCILE_GRACE_MINUTES * 60_000 }) }, 'reconcile schedule');
    }
  }
  if (config.RUN_API) {
    clientConnection = await connectWithRetry(() => Connection.connect({ address: config.TEMPORAL_ADDRESS }), `Temporal at ${config.TEMPORAL_ADDRESS}`, log);
    const temporal = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE, interceptors: clientTracing });
    const intake = createReviewIntake({ db: database.db, temporal, config, logger: log });
    const orders = createOrderService({ db: database.db, temporal, config, logger: log });
    const conformance = createConformanceIntake({ db: database.db, temporal, config, logger: log });
    const subscriptions = createSubscriptionService({ db: database.db, temporal, config });
    const images = createImageService({ db: database.db, temporal, config, logger: log });
    const releases = createProductReviewService({ db: database.db, temporal, config, logger: log });
    const sweeps = runSweeps(config.INTAKE_SWEEP_SECONDS, {
      'review cases': () => intake.sweep(), 'order lines': () => orders.sweep(), 'conformance runs': () => conformance.sweep(),
      subscriptions: () => subscriptions.sweep(), 'image scans': () => images.sweep(), 'release reviews': () => releases.sweep(),
    }, log);
    stopIntake = async () => { await sweeps.stop(); await intake.drain(); };
    const app = createApp({ db: database.db, temporal, config, logger: log, intake });
    server = await listen(app, config.PORT, config.HOST);
    log.info(`API listening on http://${config.HOST}:${config.PORT} (docs at /docs)`);
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down');
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    // Starts already sent finish before the connection closes; anything not started is the next sweep's.
    await stopIntake?.();
    // The SDK's runtime also answers SIGINT/SIGTERM by shutting its workers down: don't do it twice.
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await workerDone;
    await clientConnection?.close();
    await workerClient?.connection.close();
    await nativeConnection?.close();
    await database.close();
  };
  return { stop, server, worker };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/worker.ts')) {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const app = await run(config);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { app.stop().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); }); });
  }
}
