import type { Client, WorkflowHandle } from '@temporalio/client';
import { expect } from 'vitest';

/**
 * The first run of a workflow's chain, walked back from its latest run through continue-as-new (a handle
 * from `getHandle(id)` does not know it).
 */
export async function findFirstRunId(client: Client, workflowId: string): Promise<string> {
  let runId = (await client.workflow.getHandle(workflowId).describe()).runId;
  for (;;) {
    const first = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events?.[0];
    const previous = first?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) return runId;
    runId = previous;
  }
}

/**
 * The event count of every run of a workflow, first to last, following continue-as-new: from `firstRunId`
 * (or the handle's `firstExecutionRunId`, or else the chain's first run found by walking back) through each
 * run it continued into.
 */
export async function runLengths(client: Client, handle: WorkflowHandle, firstRunId?: string): Promise<number[]> {
  const lengths: number[] = [];
  const first = firstRunId ?? (handle as { firstExecutionRunId?: string }).firstExecutionRunId ?? await findFirstRunId(client, handle.workflowId);
  for (let runId: string | null | undefined = first; runId;) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    lengths.push(events.length);
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  }
  return lengths;
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
