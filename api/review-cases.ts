import type { Client, WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { AnyColumn } from 'drizzle-orm';
import { keyset, sortKey } from './pagination';
import { RefusedByWorkflow, runUpdate, type UpdateAnswer } from './updates';

/**
 * What the API does the same way for every kind of review case (seller applications, image product releases):
 * the queue's pages, the history a case shows, and the delivery of decisions and resubmissions.
 */

interface CaseRow { id: string; deadline: Date | null; decidedAt: Date | null }

/** Open cases earliest deadline first, decided ones most recent decision first; both take the same cursor grammar (an instant and a case id). */
export function reviewQueuePages<R extends CaseRow>(t: { id: AnyColumn; deadline: AnyColumn; decidedAt: AnyColumn }) {
  const byId = sortKey.text<R>(t.id, (a) => a.id);
  return {
    pending: keyset<R>('asc', [sortKey.instant(t.deadline, (a) => a.deadline, { nullsLast: true }), byId]),
    decided: keyset<R>('desc', [sortKey.instant(t.decidedAt, (a) => a.decidedAt, { nullsLast: true }), byId]),
  };
}

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

interface CaseEvent { type: string; round: number; actor: string | null; at: Date; data: unknown }
/** A case's history as the API shows it, oldest first. */
export const historyView = (events: CaseEvent[]) =>
  events.map((e) => ({ type: e.type, round: e.round, actor: e.actor, at: e.at.toISOString(), data: e.data }));

/**
 * Delivers a case's Updates (api/updates.ts: 202 when one takes longer than a few seconds). A case accepted a
 * moment ago whose workflow is not there yet gets it started first, then the Update again.
 */
export function caseUpdates<C extends { workflowStartedAt: Date | null }>(o: {
  temporal: Client; what: string; handle: (id: string) => WorkflowHandle;
  get: (id: string) => Promise<C | undefined>; start: (c: C) => Promise<unknown>;
}) {
  return async function update<T, A extends [unknown, ...unknown[]]>(id: string, def: UpdateDefinition<T, A>, args: A): Promise<UpdateAnswer<T>> {
    const send = () => runUpdate(o.temporal, `${o.what} ${id}`, o.handle(id), def, args);
    try {
      return await send();
    } catch (e) {
      if (!(e instanceof RefusedByWorkflow && e.noProcess)) throw e;
      const c = await o.get(id);
      if (!c || c.workflowStartedAt) throw e;
      await o.start(c);
      return send();
    }
  };
}

/**
 * A resubmission: stages the new version as a revision row, then sends the Update that names it. Only a
 * refusal deletes the staged row. After a transport error or a timeout (503), the workflow may still take the
 * Update and promote the revision, or Temporal may have dropped it (decision 023); the row stays either way.
 */
export async function resubmitStaged<T>(r: {
  stage: (revisionId: string) => Promise<unknown>; unstage: (revisionId: string) => Promise<unknown>;
  send: (revisionId: string) => Promise<UpdateAnswer<T>>; revisionId: string;
}): Promise<UpdateAnswer<T>> {
  await r.stage(r.revisionId);
  try {
    return await r.send(r.revisionId);
  } catch (e) {
    if (e instanceof RefusedByWorkflow) await r.unstage(r.revisionId);
    throw e;
  }
}
