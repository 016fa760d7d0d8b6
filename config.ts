import { z } from 'zod';
import { createSecretBox, parseMasterKey, type SecretBox } from './domain/secret-box';

/**
 * All configuration, read once from the environment and validated. A bad or missing value stops
 * start-up with a message naming the variable (ConfigError), never a crash half-way through.
 */
const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const url = (protocols: string[]) =>
  z.string().refine((s) => {
    try {
      return protocols.includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, `must be a URL with scheme ${protocols.join(' or ')}`);

const masterKey = z.string().refine((k) => { try { parseMasterKey(k); return true; } catch { return false; } }, 'must be 32 bytes as 64 hex characters or base64');

const schema = z.object({
  PORT: z.string().regex(/^\d{1,5}$/, 'must be a port number').transform(Number).pipe(z.number().max(65535)).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json`: one JSON object per line, for log collectors. `pretty`: one readable line per event (`make start` sets it). */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  /** PostgreSQL; when unset the embedded PGlite database under PGLITE_DIR is used. */
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  PGLITE_DIR: z.string().min(1).default('.data/pglite'),
  TEMPORAL_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('marketplace'),
  /** SMTP server for e-mail (smtp:// or smtps://); when unset e-mail goes to the outbox table. */
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  MAIL_FROM: z.string().email().default('noreply@marketplace.local'),
  /** HTTP endpoint that receives SMS as JSON {to, text}; when unset SMS goes to the outbox table. */
  SMS_ENDPOINT: url(['http:', 'https:']).optional(),
  /** Extra e-mail addresses of operations supervisors, besides operators flagged as supervisors. */
  OPS_SUPERVISOR_EMAILS: csv.pipe(z.array(z.string().email())).default([]),
  REVIEW_WORKING_DAYS: z.coerce.number().int().min(1).max(60).default(3),
  /** How long a rejected application waits for a resubmission before the case closes as expired. */
  RESUBMIT_WINDOW_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** How often the API looks for accepted review cases whose workflow has not started (api/review-intake.ts). */
  INTAKE_SWEEP_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  /** 32 bytes (64 hex characters or base64) that encrypt sellers' access keys at rest. `make start` makes one in .data/. */
  MASTER_KEY: masterKey.optional(),
  /** Earlier master keys, comma-separated: they still open what they sealed until the worker has re-sealed it under MASTER_KEY. */
  OLD_MASTER_KEYS: csv.pipe(z.array(masterKey)).default([]),
  /** SaaS provisioning: interval of automatic newInstance retries, their window, and the call timeout (ms). */
  PROVISION_RETRY_INTERVAL_MS: z.coerce.number().int().min(1000).default(180_000),
  PROVISION_RETRY_WINDOW_MS: z.coerce.number().int().min(60_000).default(3 * 3_600_000),
  /** After the automatic retries, an order nobody restarts, delivers or cancels is refunded after this long ('keep' waits forever). */
  PROVISION_IDLE_ACTION: z.enum(['refund', 'keep']).default('refund'),
  PROVISION_IDLE_MS: z.coerce.number().int().min(3_600_000).default(7 * 86_400_000),
  /** How often the marketplace polls queryInstance after a 000004 answer, and for how long. */
  PROVISION_POLL_INTERVAL_MS: z.coerce.number().int().min(1000).default(30_000),
  PROVISION_POLL_WINDOW_MS: z.coerce.number().int().min(60_000).default(3 * 3_600_000),
  /** Service supervision (docs/supervision.md): the idle limit in every stage, the acceptance timeout, hardware auto-acceptance, refund answers. */
  SUPERVISION_IDLE_MS: z.coerce.number().int().min(1000).default(5 * 86_400_000),
  SUPERVISION_ACCEPTANCE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(5 * 86_400_000),
  SUPERVISION_HARDWARE_AUTO_ACCEPT_MS: z.coerce.number().int().min(1000).default(10 * 86_400_000),
  SUPERVISION_REFUND_ANSWER_MS: z.coerce.number().int().min(1000).default(10 * 86_400_000),
  /** More rejections than this by one party let the other appeal (spec: the 4th). */
  SUPERVISION_REJECTION_LIMIT: z.coerce.number().int().min(0).max(100).default(3),
  SUPERVISION_BUYER_APPEALS_ANY_STAGE: bool.default(true),
  /** Largest supervision file (requirement attachments, delivery proof, appeal evidence). */
  SUPERVISION_FILE_MAX_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(20 * 1024 * 1024),
  SELLER_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(20_000).default(5_000),
  /** Seller conformance runs: how long an instance answered 000004 may take to be ready, and how often it is polled. */
  CONFORMANCE_POLL_WINDOW_MS: z.coerce.number().int().min(0).max(3_600_000).default(120_000),
  CONFORMANCE_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(2_000),
  /** Subscriptions: the first auto-renewal attempt is SUBSCRIPTION_RENEWAL_LEAD_DAYS calendar days before the expiry day, at SUBSCRIPTION_RENEWAL_TIME Asia/Shanghai (spec §7.2). */
  SUBSCRIPTION_RENEWAL_LEAD_DAYS: z.coerce.number().int().min(0).max(60).default(7),
  SUBSCRIPTION_RENEWAL_TIME: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (Asia/Shanghai)').default('03:00'),
  /** Days an expired subscription stays frozen before release, per customer level (`V0=1,…,V5=15`), at most 15 (spec §7.1–7.2). */
  SUBSCRIPTION_RETENTION_DAYS: z.string().transform((s, ctx) => {
    const table: Record<string, number> = {};
    for (const pair of s.split(',').map((p) => p.trim()).filter(Boolean)) {
      const m = /^([A-Za-z0-9]+)=(\d+)$/.exec(pair);
      if (!m || Number(m[2]) > 15) { ctx.addIssue({ code: 'custom', message: `"${pair}" is not LEVEL=DAYS with at most 15 days` }); return z.NEVER; }
      table[m[1]!] = Number(m[2]);
    }
    return table;
  }).default({ V0: 1, V1: 7, V2: 7, V3: 7, V4: 15, V5: 15 }),
  /** The policy of a new subscription until its buyer changes it. */
  SUBSCRIPTION_DEFAULT_POLICY: z.enum(['auto_renew', 'no_renewal']).default('no_renewal'),
  /** Refresh, status and release calls to a seller: retried every interval for the window, then they wait for the seller's restart. */
  SUBSCRIPTION_SELLER_RETRY_INTERVAL_MS: z.coerce.number().int().min(1000).default(5 * 60_000),
  SUBSCRIPTION_SELLER_RETRY_WINDOW_MS: z.coerce.number().int().min(60_000).default(3_600_000),
  /** The no-reason unsubscription: within this many days of provisioning, at most this many a buyer per calendar year (spec §7.3). */
  SUBSCRIPTION_UNSUBSCRIBE_DAYS: z.coerce.number().int().min(0).max(30).default(5),
  SUBSCRIPTION_UNSUBSCRIBE_QUOTA: z.coerce.number().int().min(0).max(1000).default(10),
  /** A subscription run continues as new when its history reaches this many events (docs/subscription.md). */
  SUBSCRIPTION_HISTORY_LIMIT: z.coerce.number().int().min(200).max(20_000).default(1500),
  /** Calls in flight to one seller endpoint at most, across all workers (0: no limit). */
  SELLER_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(0).max(10_000).default(10),
  /** Seller calls over plain http, and to loopback and private addresses: off in production; make start allows both for the reference seller. Link-local and metadata addresses are never called. */
  SELLER_ALLOW_HTTP: bool.default(false),
  SELLER_ALLOW_PRIVATE: bool.default(false),
  /** How long an API process trusts a key it checked; a key revoked elsewhere stops working here within this. */
  API_KEY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** Worker's workflow cache; 0 turns sticky execution off. Unset: the SDK's default. */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).optional(),
  /**
   * On a graceful stop (SIGTERM, a deploy), how long running activities may finish and report. Without it an
   * activity cut by the stop is only retried after its start-to-close timeout (a notification: 60 s).
   */
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** The reconciliation Schedule: how often it looks for rows open while their workflow is closed, and how old a start must be. */
  RECONCILE_EVERY_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
  RECONCILE_GRACE_MINUTES: z.coerce.number().int().min(0).max(1440).default(10),
  /** Create the dial-test Schedule at worker start-up (off where the server has no Schedules, e.g. the time-skipping test server). */
  CREATE_SCHEDULES: bool.default(true),
  /** Artifact store (artifacts/): `disk` keeps files under ARTIFACT_DIR, `s3` in an S3-compatible bucket. */
  ARTIFACT_STORE: z.enum(['disk', 's3']).default('disk'),
  ARTIFACT_DIR: z.string().min(1).default('.data/artifacts'),
  /** S3-compatible store: endpoint (unset: AWS), region, bucket, key prefix, path-style addressing, keys (unset: the SDK's chain). */
  S3_ENDPOINT: url(['http:', 'https:']).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').optional(),
  S3_PREFIX: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'must be a plain key prefix').optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /**
   * DEMO ONLY, never in production: the long durations become minutes (DEMO_DEFAULTS) so that every path can
   * be tried at once. Start-up warns while it is on, and /healthz says so.
   */
  DEMO_FAST: bool.default(false),
  /** Demo only (needs DEMO_FAST): a review deadline's working day lasts this many seconds, holidays and weekends ignored. */
  DEMO_WORKING_DAY_SECONDS: z.coerce.number().int().min(1).max(86_400).optional(),
  /** Image uploads: the largest archive accepted (default 20 GiB, spec §6.3), and how long an upload may stall before it is dropped. */
  IMAGE_MAX_BYTES: z.coerce.number().int().min(1024).default(20 * 1024 ** 3),
  UPLOAD_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  /** clamd's TCP address (host:port) for the malware rule; unset: the rule runs without ClamAV and the report says so. */
  CLAMD_ADDRESS: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port').optional(),
  /** Bytes of each file sent to ClamAV (clamd's own MaxFileSize default is 100 MiB). */
  CLAMAV_MAX_FILE_BYTES: z.coerce.number().int().min(1024).default(100 * 1024 * 1024),
  /** The scan activity: heartbeat timeout (a dead worker is noticed within it) and checkpoint interval. */
  SCAN_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  SCAN_CHECKPOINT_MS: z.coerce.number().int().min(100).default(10_000),
  /**
   * Attempts of the scan activity before the scan goes `stuck` for operators (a database away, a store that does not
   * answer, a worker that keeps dying): 16 attempts back off 1 s doubling to 1 min, about 10 minutes, as DB_WRITES.
   */
  SCAN_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(16),
  /** Release review of image products: extra working days when a seller files PRODUCT_REVIEW_BUSY_THRESHOLD or more in a day. */
  PRODUCT_REVIEW_EXTENSION_DAYS: z.coerce.number().int().min(0).max(30).default(1),
  PRODUCT_REVIEW_BUSY_THRESHOLD: z.coerce.number().int().min(1).max(1000).default(10),
  /** Traces (OpenTelemetry) go to this OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318; unset: tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:']).optional(),
  /** host:port where the Temporal SDK's Core serves the worker's Prometheus metrics; GET /metrics includes them. */
  WORKER_METRICS_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port').optional(),
  /** Runs worker and API in one process; `make start` does, docker-compose runs them apart. */
  RUN_WORKER: bool.default(true),
  RUN_API: bool.default(true),
}).refine((c) => c.ARTIFACT_STORE !== 's3' || c.S3_BUCKET, { path: ['S3_BUCKET'], message: 'is required when ARTIFACT_STORE=s3' })
  .refine((c) => c.DEMO_FAST || c.DEMO_WORKING_DAY_SECONDS === undefined, { path: ['DEMO_WORKING_DAY_SECONDS'], message: 'is for demos only: set DEMO_FAST=1 too' });

/**
 * What DEMO_FAST=1 changes, unless a variable is set explicitly: three working days become three minutes,
 * three hours of provisioning retries become three minutes of retries every 20 s, a day of supervision a minute.
 */
export const DEMO_DEFAULTS: Record<string, string> = {
  DEMO_WORKING_DAY_SECONDS: '60',
  PROVISION_RETRY_INTERVAL_MS: '20000',
  PROVISION_RETRY_WINDOW_MS: '180000',
  PROVISION_POLL_INTERVAL_MS: '5000',
  PROVISION_POLL_WINDOW_MS: '60000',
  PROVISION_IDLE_MS: '3600000',
  INTAKE_SWEEP_SECONDS: '5',
  // Supervision: a day becomes a minute (5 days idle or to accept: 5 minutes; hardware and refunds: 10).
  SUPERVISION_IDLE_MS: '300000',
  SUPERVISION_ACCEPTANCE_TIMEOUT_MS: '300000',
  SUPERVISION_HARDWARE_AUTO_ACCEPT_MS: '600000',
  SUPERVISION_REFUND_ANSWER_MS: '600000',
};

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset": shells and compose files often export VAR= .
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const demo = cleaned.DEMO_FAST === '1' || cleaned.DEMO_FAST === 'true';
  const parsed = schema.safeParse(demo ? { ...DEMO_DEFAULTS, ...cleaned } : cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return parsed.data;
}
export const CONFIG_KEYS = Object.keys(schema.shape);

/** The secret box of this configuration (MASTER_KEY seals; OLD_MASTER_KEYS still open), or undefined without a master key. */
export const secretBoxOf = (config: Pick<Config, 'MASTER_KEY' | 'OLD_MASTER_KEYS'>): SecretBox | undefined =>
  config.MASTER_KEY ? createSecretBox(config.MASTER_KEY, config.OLD_MASTER_KEYS) : undefined;
