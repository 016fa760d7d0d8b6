import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTimeSkipping } from '../support/time-skipping';

// The versioning rule (docs/decisions/013-workflow-versioning.md) on a small workflow in three versions.
const bundle = (file: string) => bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL(`../support/versioning/${file}.ts`, import.meta.url)), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
const activities = { async step(name: string) { return name; } };

let env: TestWorkflowEnvironment;
let v1: WorkflowBundleWithSourceMap;
let unpatched: WorkflowBundleWithSourceMap;
let patched: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  env = await startTimeSkipping();
  [v1, unpatched, patched] = await Promise.all([bundle('v1'), bundle('v2-unpatched'), bundle('v2-patched')]);
});
afterAll(async () => env?.teardown());

/**
 * A worker of one version. The old versions run without a cache, so they leave no sticky queue behind
 * that the time-skipping server would wait on after they stop.
 */
const workerOf = (workflowBundle: WorkflowBundleWithSourceMap, taskQueue: string, cache = false) =>
  Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities, ...(cache ? {} : { maxCachedWorkflows: 0 }) });

describe('a changed workflow and the histories of the old one', () => {
  it('an unpatched change breaks the old history; the change behind patched() replays it, keeps running old workflows on the old path and runs new ones on the new', async () => {
    const taskQueue = 'versioning';
    // Version 1 runs a workflow to the end, and starts another that the deploy finds in its 1-hour sleep.
    const finished = await env.client.workflow.start('versionedFlow', { taskQueue, workflowId: 'v1-finished' });
    await (await workerOf(v1, taskQueue)).runUntil(finished.result());
    const history = await finished.fetchHistory();
    // (Not awaiting a result here keeps the test server's clock still: the workflow stays in its sleep.)
    const inFlight = await env.client.workflow.start('versionedFlow', { taskQueue, workflowId: 'v1-in-flight' });
    await (await workerOf(v1, taskQueue)).runUntil(async () => {
      for (let i = 0; i < 200 && !((await inFlight.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes); i++) await new Promise((r) => setTimeout(r, 50));
    });

    await expect(Worker.runReplayHistory({ workflowBundle: unpatched }, history)).rejects.toBeInstanceOf(DeterminismViolationError);
    await expect(Worker.runReplayHistory({ workflowBundle: patched }, history)).resolves.toBeUndefined();

    // The deploy: version 2 takes over. The workflow in flight finishes on the old path, a new one takes the new.
    const next = await workerOf(patched, taskQueue, true);
    const [oldPath, newPath] = await next.runUntil(async () => {
      const before = await inFlight.result();
      return [before, await (await env.client.workflow.start('versionedFlow', { taskQueue, workflowId: 'v2-fresh' })).result()];
    });
    expect(oldPath).toEqual(['charge', 'ship']);
    expect(newPath).toEqual(['reserve', 'charge', 'ship']);
  });
});
