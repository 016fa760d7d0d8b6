/**
 * Test processes log the Temporal SDK (and its core's warnings) through the project's one-line format
 * into the console, where vitest keeps them out of the results and shows them in full for a failing
 * test (`silent: 'passed-only'`). LOG_LEVEL=debug shows more.
 */
import { Writable } from 'node:stream';
import { DefaultLogger } from '@temporalio/worker';
import { createLogger, installTemporalLogging, temporalLogger } from '../../logging';

const toConsole = new Writable({ write(chunk: Buffer, _enc, done) { const line = chunk.toString().trimEnd(); logLines.push(line); console.log(line); done(); } });
const level = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace' ? process.env.LOG_LEVEL : 'warn';
const logger = createLogger({ LOG_LEVEL: level, LOG_FORMAT: 'pretty' }, toConsole);
installTemporalLogging(logger);
// MockActivityEnvironment without a logger of its own writes to stderr through a DefaultLogger, past vitest:
// in tests every DefaultLogger goes the same way as the Runtime's.
const sdk = temporalLogger(logger);
DefaultLogger.prototype.log = function log(level, message, meta) { sdk.log(level, message, meta); };

/** Every line written in this test process, for tests of the log format itself. */
export const logLines: string[] = [];

// Node 20 is the product's fixed runtime; the AWS SDK's notice that later versions need 22 says nothing to a test run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
