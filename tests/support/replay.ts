import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

/** Where recorded histories live: `tests/replay/<workflowType>/<name>.json`, replayed by tests/unit/replay.test.ts. */
export const REPLAY_DIR = fileURLToPath(new URL('../replay/', import.meta.url));

/**
 * Records the history of a workflow a test has just driven through one of its paths, so CI replays it
 * against every later version of the code (docs/durable-patterns.md). A no-op unless the run sets
 * RECORD_HISTORIES=1: `RECORD_HISTORIES=1 npx vitest run tests/workflows/x.test.ts`, then commit the files.
 * A running workflow may be recorded too: replay stops where its history ends. An existing file is kept
 * (RECORD_HISTORIES=overwrite replaces it): record a changed workflow's path under a new name.
 */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`history name ${name}: lower-case words with dashes`);
  const history = await handle.fetchHistory();
  const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
  if (!type) throw new Error(`history of ${handle.workflowId} has no start event`);
  mkdirSync(`${REPLAY_DIR}${type}`, { recursive: true });
  // A committed history is the proof that later code still replays it: never replace it by accident.
  const file = `${REPLAY_DIR}${type}/${name}.json`;
  if (existsSync(file) && process.env.RECORD_HISTORIES !== 'overwrite') return;
  // Compact: the same JSON as other Temporal tools write, without the indentation (a third of the size).
  writeFileSync(file, JSON.stringify(JSON.parse(historyToJSON(history))));
}
