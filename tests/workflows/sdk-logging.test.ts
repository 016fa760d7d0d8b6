import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines } from '../support/quiet-logs';
import { startTimeSkipping } from '../support/time-skipping';

let env: TestWorkflowEnvironment;
beforeAll(async () => { env = await startTimeSkipping(); });
afterAll(async () => { await env?.teardown(); });

// The Runtime's logger is the project's (logging.ts, installed by the tests' setup as main.ts installs it).
describe('the Temporal SDK logs through the project logger', () => {
  it('writes one line per failed activity attempt with its cause, and no stack', async () => {
    let calls = 0;
    const worker = await Worker.create({
      connection: env.nativeConnection, taskQueue: 'sdk-logging',
      workflowsPath: fileURLToPath(new URL('../support/workflows/flaky.ts', import.meta.url)),
      activities: {
        async flaky() {
          if (++calls < 3) throw new Error(`the seller is down (call ${calls})`, { cause: ApplicationFailure.retryable('connect ECONNREFUSED 127.0.0.1:4000', 'NetworkError') });
          return 'ok';
        },
      },
    });
    const before = logLines.length;
    const result = await worker.runUntil(env.client.workflow.execute('flakyWorkflow', { taskQueue: 'sdk-logging', workflowId: 'flaky-1' }));
    expect(result).toBe('ok');
    const lines = logLines.slice(before);
    const failed = lines.filter((l) => l.includes('activity flaky attempt'));
    expect(failed).toHaveLength(2);
    expect(failed[0]).toMatch(/WARN.*activity flaky attempt 1 failed \(flaky-1\): Error: the seller is down \(call 1\) ← NetworkError: connect ECONNREFUSED 127\.0\.0\.1:4000/);
    expect(failed[1]).toContain('attempt 2 failed');
    // No stack frames, no multi-line dumps, and no worker-state chatter at the default level.
    expect(lines.join('\n')).not.toMatch(/^\s+at /m);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    expect(lines.some((l) => l.includes('Worker state changed'))).toBe(false);
  });
});
