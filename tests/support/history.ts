import type { Client, WorkflowHandle } from '@temporalio/client';
import { expect } from 'vitest';

/**
 * The event count of every run of a workflow, first to last, following continue-as-new: from `firstRunId`
 * (or the handle's `firstExecutionRunId`; else only the latest run) through each run it continued into.
 */
export async function runLengths(client: Client, handle: WorkflowHandle, firstRunId?: string): Promise<number[]> {
  const lengths: number[] = [];
  let runId: string | undefined = firstRunId ?? (handle as { firstExecutionRunId?: string }).firstExecutionRunId;
  for (;;) {
    const history = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    lengths.push(events.length);
    const next = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!next || !runId) return lengths;
    runId = next;
  }
}

/**
 * Asserts the written history bound of a workflow type (docs/durable-patterns.md): no run of this
 * workflow, finished or running, has more than `bound` events. Returns the runs' lengths for the test to report.
 */
export async function expectHistoryWithin(client: Client, handle: WorkflowHandle, bound: number, firstRunId?: string): Promise<number[]> {
  const lengths = await runLengths(client, handle, firstRunId);
  expect(Math.max(...lengths), `history of ${handle.workflowId}: runs of ${lengths.join(', ')} events`).toBeLessThanOrEqual(bound);
  return lengths;
}

/** Prints a measured figure even when the test passes (vitest keeps passing tests' console quiet). */
export const report = (line: string) => { process.stdout.write(`[figures] ${line}\n`); };
