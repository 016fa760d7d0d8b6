import { readdirSync, readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../worker';
import * as workflows from '../../workflows/index';
import { REPLAY_DIR } from '../support/replay';

/** Every recorded history, `tests/replay/<workflowType>/<name>.json` (recorded with tests/support/replay.ts). */
const recorded = readdirSync(REPLAY_DIR, { withFileTypes: true }).filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(`${REPLAY_DIR}${d.name}`).filter((f) => f.endsWith('.json')).map((f) => ({ type: d.name, file: `${d.name}/${f}` })));

describe('recorded histories replay against the current workflow code', () => {
  it('has recorded histories of every workflow type the worker runs', () => {
    const types = new Set(recorded.map((r) => r.type));
    expect(Object.keys(workflows).filter((t) => !types.has(t))).toEqual([]);
  });

  it('replays every one of them without a nondeterminism error', async () => {
    const workflowBundle = await bundleWorkflows();
    const histories = recorded.map((r) => ({ workflowId: r.file, history: historyFromJSON(JSON.parse(readFileSync(`${REPLAY_DIR}${r.file}`, 'utf8'))) }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  });
});
