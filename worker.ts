import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Config } from './config';
import type { Db } from './db/client';
import { Client } from '@temporalio/client';
import { createActivities, type ActivityDeps } from './activities';
import { setupTracing, workerTracing, WORKFLOW_TRACING_MODULE } from './observability/tracing';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/**
 * Bundles the workflow code once; tests share one bundle across workers. The workflow side of tracing is bundled
 * only when traces go somewhere (set up before this call): its interceptors cost every cached workflow memory.
 */
export const bundleWorkflows = (): Promise<WorkflowBundleWithSourceMap> =>
  bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger, workflowInterceptorModules: setupTracing().enabled ? [WORKFLOW_TRACING_MODULE] : [] });

const quietBundlerLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (m: string) => console.warn(m), error: (m: string) => console.error(m),
};

export interface WorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Workflow cache size; 0 turns sticky execution off (tests that stop workers use it). */
  maxCachedWorkflows?: number;
}

/** The real worker: the workflow bundle plus the activities built from their dependencies. */
export async function createWorker(o: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    workflowBundle: o.workflowBundle ?? (await bundleWorkflows()),
    // A client over the worker's own connection, for activities that start workflows.
    activities: createActivities({ ...o, temporal: o.temporal ?? new Client({ connection: o.connection, namespace: o.namespace }) }),
    // Traces of workflows and activities (observability/tracing.ts); no-ops while tracing is off.
    ...workerTracing(),
    ...(o.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: o.maxCachedWorkflows } : {}),
    shutdownGraceTime: o.config.WORKER_SHUTDOWN_GRACE_MS,
  });
}

export type { Config, Db };

// Run as a program: `tsx worker.ts` is the same as `RUN_API=false tsx main.ts`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.env.RUN_API = 'false';
  await import('./main');
}
