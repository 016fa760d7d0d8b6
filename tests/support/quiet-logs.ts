/**
 * Test processes log the Temporal SDK (and its core's warnings) through the project's one-line format
 * into the console, where vitest keeps them out of the results and shows them in full for a failing
 * test (`silent: 'passed-only'`). LOG_LEVEL=debug shows more.
 */
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { DefaultLogger } from '@temporalio/worker';
import { createLogger, installTemporalLogging, temporalLogger } from '../../logging';

const toConsole = new Writable({ write(chunk: Buffer, _enc, done) { const line = chunk.toString().trimEnd(); logLines.push(line); console.log(line); done(); } });
const level = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace' ? process.env.LOG_LEVEL : 'warn';
// The SDK's worker metrics are served on a free loopback port, where GET /metrics of a test system reads them.
const probe = createNetServer();
await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
export const workerMetricsAddress = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
await new Promise((r) => probe.close(r));
const logger = createLogger({ LOG_LEVEL: level, LOG_FORMAT: 'pretty' }, toConsole);
installTemporalLogging(logger, workerMetricsAddress);
// MockActivityEnvironment without a logger of its own writes to stderr through a DefaultLogger, past vitest:
// in tests every DefaultLogger goes the same way as the Runtime's.
const sdk = temporalLogger(logger);
DefaultLogger.prototype.log = function log(level, message, meta) { sdk.log(level, message, meta); };

/** Every line written in this test process, for tests of the log format itself. */
export const logLines: string[] = [];

// Node 20 is the product's fixed runtime; the AWS SDK's notice that later versions need 22 says nothing to a test run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
