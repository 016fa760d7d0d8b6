/**
 * Types of the ApplicationFailures that activities raise (activities/failures.ts classifies every error an
 * activity throws into one of them). Workflow code and the API read them; Temporal packages only.
 */
export const FAILURE = {
  /** The database refused these values (SQLSTATE 22xxx, e.g. 22P05 for a NUL character). Never retried. */
  dataRejected: 'DataRejected',
  /** An integrity constraint refused a write the code did not expect (23xxx, not an idempotent replay). Never retried. */
  constraintViolated: 'ConstraintViolated',
  /** Our code or schema is wrong (42xxx, TypeError, …): an operator must fix and retry. Never retried. */
  bug: 'Bug',
  /** A value read inside an activity failed validation (ZodError). Never retried. */
  invalidData: 'InvalidData',
  /** Configuration the activity needs is missing or wrong (MASTER_KEY, …). Never retried. */
  configMissing: 'ConfigMissing',
  /** The database or another dependency of ours is away; retried with backoff up to the activity's bound. */
  unavailable: 'Unavailable',
  /** Anything else: retried with backoff up to the activity's bound. */
  unexpected: 'Unexpected',
} as const;

export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];
