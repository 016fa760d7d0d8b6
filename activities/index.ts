import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { createNotifyActivities, createTransports, type Transports } from './notify';
import { createConformanceActivities } from './conformance';
import { createDialTestActivities } from './dial-tests';
import { classifyFailures } from './failures';
import { createProvisionActivities } from './provision';
import { createReviewActivities } from './review';
import { createReconcileActivities } from './reconcile';
import { createStuckActivities } from './stuck';
import { createSubscriptionActivities } from './subscription';
import { createImageScanActivities } from './image-scan';
import { createProductReviewActivities } from './product-review';
import { createSupervisionActivities } from './supervision';

export interface ActivityDeps {
  db: Db;
  config: Config;
  /** Injected by tests that want to observe or break delivery; defaults to SMTP and the SMS gateway. */
  transports?: Transports;
  /** A Temporal client, for activities that ask about or start other workflows (the reconciliation, a delivered subscription). */
  temporal?: Client;
}

/**
 * All activities the worker registers, built from their dependencies. Every error they throw is
 * classified (activities/failures.ts): typed and non-retryable when a retry cannot help, free of SQL
 * parameters always.
 */
export function createActivities(deps: ActivityDeps) {
  return classifyFailures({
    ...createReviewActivities(deps),
    ...createProvisionActivities(deps),
    ...createDialTestActivities(deps),
    ...createConformanceActivities(deps),
    ...createSubscriptionActivities(deps),
    ...createImageScanActivities(deps),
    ...createProductReviewActivities(deps),
    ...createSupervisionActivities(deps),
    ...createNotifyActivities({ ...deps, transports: deps.transports ?? createTransports(deps.config) }),
    ...createStuckActivities(deps),
    ...createReconcileActivities(deps),
  });
}
