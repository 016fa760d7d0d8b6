import type { Config } from '../config';
import type { Db } from '../db/client';
import { createNotifyActivities, createTransports, type Transports } from './notify';
import { createDialTestActivities } from './dial-tests';
import { createProvisionActivities } from './provision';
import { createReviewActivities } from './review';

export interface ActivityDeps {
  db: Db;
  config: Config;
  /** Injected by tests that want to observe or break delivery; defaults to SMTP and the SMS gateway. */
  transports?: Transports;
}

/** All activities the worker registers, built from their dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createReviewActivities(deps),
    ...createProvisionActivities(deps),
    ...createDialTestActivities(deps),
    ...createNotifyActivities({ ...deps, transports: deps.transports ?? createTransports(deps.config) }),
  };
}
