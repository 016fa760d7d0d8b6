import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { TEMPORAL_TEST_SERVER } from '../../scripts/dev-server';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

/** A time-skipping test server with this project's search attributes, as the dev server registers them at start. */
export async function startTimeSkipping(port?: number): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: TEMPORAL_TEST_SERVER }, ...(port ? { port } : {}) },
  });
  // The test server rejects upserts of attributes it does not know.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${k.type}`]])),
  });
  return env;
}
