import { and, eq, isNull, lt } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from './client';

/** A table of accepted work whose rows each get a workflow (review cases, order lines): decision 008. */
type Startable = PgTable & { id: PgColumn; workflowStartedAt: PgColumn; createdAt: PgColumn };

/** How long a sweep leaves a new row alone: the API's own start is normally done well within it. */
export const SWEEP_GRACE_MS = 5_000;

/** Rows accepted more than `graceMs` ago whose workflow has not been recorded as started. */
export const notStarted = (t: Startable, graceMs: number) =>
  and(isNull(t.workflowStartedAt), lt(t.createdAt, new Date(Date.now() - graceMs)));

/** Records that a row's workflow runs; the first record stays. */
export const markStarted = (db: Db, t: Startable, id: string, at: Date) =>
  db.update(t).set({ workflowStartedAt: at }).where(and(eq(t.id, id), isNull(t.workflowStartedAt)));
