/**
 * One logger for the process and one format for every event in it: JSON lines in production, and with
 * LOG_FORMAT=pretty (what `make start` sets) one readable line per event. The Temporal SDK logs through
 * the same logger, its errors cut to one line with their causes instead of a stack per activity retry.
 */
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config';
import { safeError } from './observability/safe-error';

export const REDACT = ['*.authorization', '*.apiKey', '*.accessKey'];

/** The process logger. `destination` lets tests read what a user would see. */
export function createLogger(o: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>, destination?: DestinationStream): Logger {
  const options = { level: o.LOG_LEVEL, redact: REDACT };
  if (o.LOG_FORMAT === 'json') return destination ? pino(options, destination) : pino(options);
  return pino(options, pretty({
    // In-process and synchronous: log lines and the start banner come out in the order they happen.
    sync: true,
    destination: destination ?? 1,
    colorize: !destination && process.stdout.isTTY === true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    // Request and SDK details that the message line already says; JSON keeps them all.
    ignore: 'pid,hostname,req,res,responseTime,reqId,principal,temporal,activityType,attempt,workflowType,taskQueue,durationMs',
  }));
}

/** `Error: message ← cause ← cause`: what failed and why, without the stack. */
export function errorLine(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof Error) {
      const type = (e as { type?: unknown }).type;
      // Never SQL text or its parameters (drizzle puts both into its message): observability/safe-error.ts.
      parts.push(`${typeof type === 'string' && type ? type : e.name}: ${safeError(e).message ?? ''}`);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(' ← ');
}

// SDK events that say nothing a user acts on: kept for LOG_LEVEL=debug.
const CHATTER = [/^Worker state changed/, /^No Nexus services registered/, /^Initializing worker/, /heartbeat details may be lost/];
const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
// Fields of the SDK's activity and workflow metadata worth a place on the line; task tokens and run ids are not.
const KEPT = ['activityType', 'attempt', 'workflowId', 'workflowType', 'taskQueue', 'durationMs', 'state'];

/** The Temporal SDK's logger interface over a pino logger: one line per event, errors as `errorLine`. */
export function temporalLogger(log: Logger): TemporalLogger {
  const write = (level: LogLevel, message: string, meta: LogMetadata = {}) => {
    let to = LEVELS[level] ?? 'info';
    if (to !== 'error' && CHATTER.some((re) => re.test(message))) to = 'debug';
    if (!log.isLevelEnabled(to)) return;
    const fields: Record<string, unknown> = { temporal: meta.sdkComponent ?? 'core' };
    for (const k of KEPT) if (meta[k] !== undefined) fields[k] = meta[k];
    const error = meta.error ?? meta.failure;
    let line = message;
    if (message === 'Activity failed' && meta.activityType) {
      line = `activity ${String(meta.activityType)} attempt ${String(meta.attempt ?? '?')} failed${meta.workflowId ? ` (${String(meta.workflowId)})` : ''}`;
      delete fields.workflowId;
    }
    if (error !== undefined) {
      line += `: ${errorLine(error)}`;
      if (log.isLevelEnabled('debug') && error instanceof Error) fields.stack = error.stack;
    }
    log[to](fields, line);
  };
  return {
    log: write,
    trace: (m, meta) => write('TRACE', m, meta),
    debug: (m, meta) => write('DEBUG', m, meta),
    info: (m, meta) => write('INFO', m, meta),
    warn: (m, meta) => write('WARN', m, meta),
    error: (m, meta) => write('ERROR', m, meta),
  };
}

let installed = false;
/**
 * Routes the Temporal SDK's logs, and the Rust core's warnings, through `log`. It must run before the
 * first connection or worker exists; later calls in the same process do nothing.
 */
/** `metricsAddress`: where Core serves the worker's Prometheus metrics (WORKER_METRICS_ADDRESS; GET /metrics includes them). */
export function installTemporalLogging(log: Logger, metricsAddress?: string): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} }, ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}) },
  });
}
