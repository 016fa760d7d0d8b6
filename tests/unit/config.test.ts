import { describe, it, expect } from 'vitest';
import { ConfigError, loadConfig } from '../../config';

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('loads the defaults from an empty environment', () => {
    const c = loadConfig({});
    expect(c).toEqual({
      PORT: 3000,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DEMO_FAST: false,
      PGLITE_DIR: '.data/pglite',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'marketplace',
      MAIL_FROM: 'noreply@marketplace.local',
      OPS_SUPERVISOR_EMAILS: [],
      REVIEW_WORKING_DAYS: 3,
      RESUBMIT_WINDOW_DAYS: 30,
      INTAKE_SWEEP_SECONDS: 10,
      RUN_WORKER: true,
      RUN_API: true,
      RECONCILE_EVERY_MINUTES: 15,
      RECONCILE_GRACE_MINUTES: 10,
      CREATE_SCHEDULES: true,
      // SaaS provisioning runs on the spec's real durations: every 3 minutes for 3 hours, 5 s per call.
      PROVISION_RETRY_INTERVAL_MS: 180_000,
      PROVISION_RETRY_WINDOW_MS: 10_800_000,
      PROVISION_POLL_INTERVAL_MS: 30_000,
      PROVISION_POLL_WINDOW_MS: 10_800_000,
      PROVISION_IDLE_ACTION: 'refund',
      PROVISION_IDLE_MS: 604_800_000,
      SELLER_CALL_TIMEOUT_MS: 5_000,
      CONFORMANCE_POLL_WINDOW_MS: 120_000,
      CONFORMANCE_POLL_INTERVAL_MS: 2_000,
      SELLER_ENDPOINT_CONCURRENCY: 10,
      SUBSCRIPTION_DEFAULT_POLICY: 'no_renewal', SUBSCRIPTION_HISTORY_LIMIT: 1500, SUBSCRIPTION_RENEWAL_LEAD_DAYS: 7, SUBSCRIPTION_RENEWAL_TIME: '03:00',
      SUBSCRIPTION_RETENTION_DAYS: { V0: 1, V1: 7, V2: 7, V3: 7, V4: 15, V5: 15 },
      SUBSCRIPTION_SELLER_RETRY_INTERVAL_MS: 300_000, SUBSCRIPTION_SELLER_RETRY_WINDOW_MS: 3_600_000, SUBSCRIPTION_UNSUBSCRIBE_DAYS: 5, SUBSCRIPTION_UNSUBSCRIBE_QUOTA: 10,
      // Production rules for seller calls: https to public addresses only; revoked keys stop within 5 s.
      SELLER_ALLOW_HTTP: false,
      SELLER_ALLOW_PRIVATE: false,
      API_KEY_CACHE_MS: 5_000,
      OLD_MASTER_KEYS: [],
      ARTIFACT_STORE: 'disk',
      ARTIFACT_DIR: '.data/artifacts',
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: true,
      IMAGE_MAX_BYTES: 20 * 1024 ** 3,
      UPLOAD_IDLE_TIMEOUT_MS: 60_000,
      WORKER_SHUTDOWN_GRACE_MS: 10_000,
      CLAMAV_MAX_FILE_BYTES: 100 * 1024 * 1024,
      SCAN_HEARTBEAT_TIMEOUT_MS: 60_000,
      SCAN_CHECKPOINT_MS: 10_000,
      SCAN_MAX_ATTEMPTS: 16,
      PRODUCT_REVIEW_EXTENSION_DAYS: 1,
      PRODUCT_REVIEW_BUSY_THRESHOLD: 10,
      // Service supervision on the spec's durations: 5 days idle or to accept, 10 days for hardware and refund answers.
      SUPERVISION_IDLE_MS: 432_000_000,
      SUPERVISION_ACCEPTANCE_TIMEOUT_MS: 432_000_000,
      SUPERVISION_HARDWARE_AUTO_ACCEPT_MS: 864_000_000,
      SUPERVISION_REFUND_ANSWER_MS: 864_000_000,
      SUPERVISION_REJECTION_LIMIT: 3,
      SUPERVISION_BUYER_APPEALS_ANY_STAGE: true,
      SUPERVISION_FILE_MAX_BYTES: 20_971_520,
    });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.MASTER_KEY).toBeUndefined();
    expect(c.SMTP_URL).toBeUndefined();
    expect(c.SMS_ENDPOINT).toBeUndefined();
  });

  it('takes a 32-byte master key as hex or base64 and refuses anything else', () => {
    expect(loadConfig({ MASTER_KEY: 'a'.repeat(64) }).MASTER_KEY).toBe('a'.repeat(64));
    expect(loadConfig({ MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }).MASTER_KEY).toBeDefined();
    expect(() => loadConfig({ MASTER_KEY: 'short' })).toThrow(/MASTER_KEY/);
  });

  it('keeps artifacts on disk by default and needs a bucket for S3', () => {
    expect(loadConfig({})).toMatchObject({ ARTIFACT_STORE: 'disk', ARTIFACT_DIR: '.data/artifacts' });
    expect(() => loadConfig({ ARTIFACT_STORE: 's3' })).toThrow(/S3_BUCKET: is required/);
    expect(() => loadConfig({ ARTIFACT_STORE: 's3', S3_BUCKET: 'Bad_Bucket' })).toThrow(/S3_BUCKET/);
    expect(loadConfig({ ARTIFACT_STORE: 's3', S3_BUCKET: 'images', S3_ENDPOINT: 'http://127.0.0.1:9000' })).toMatchObject({ S3_BUCKET: 'images', S3_FORCE_PATH_STYLE: true });
  });

  it('reads valid values', () => {
    const c = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/market',
      TEMPORAL_ADDRESS: 'temporal:7233',
      SMTP_URL: 'smtp://mail:25',
      SMS_ENDPOINT: 'https://sms.example.com/send',
      RUN_WORKER: 'false',
      RUN_API: '1',
      REVIEW_WORKING_DAYS: '5',
    });
    expect(c).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'postgres://u:p@db:5432/market',
      TEMPORAL_ADDRESS: 'temporal:7233',
      SMTP_URL: 'smtp://mail:25',
      SMS_ENDPOINT: 'https://sms.example.com/send',
      RUN_WORKER: false,
      RUN_API: true,
      REVIEW_WORKING_DAYS: 5,
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['TEMPORAL_ADDRESS', 'nohost'],
    ['SMTP_URL', 'http://x'],
    ['SMS_ENDPOINT', 'ftp://x'],
    ['OPS_SUPERVISOR_EMAILS', 'not-an-email'],
    ['OPS_SUPERVISOR_EMAILS', 'ops@example.com,not-an-email'],
    ['MAIL_FROM', 'nobody'],
    ['LOG_LEVEL', 'verbose'],
    ['RUN_WORKER', 'yes'],
    ['REVIEW_WORKING_DAYS', '0'],
  ])('rejects %s=%s with a ConfigError naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.name).toBe('ConfigError');
    expect(err.message).toContain(name);
    expect(err.problems.some((p) => p.startsWith(name))).toBe(true);
  });

  it('reads the retention table per customer level, at most 15 days, and the renewal time of day', () => {
    expect(loadConfig({ SUBSCRIPTION_RETENTION_DAYS: 'V0=0, V3=10,VIP=15', SUBSCRIPTION_RENEWAL_TIME: '02:30' })).toMatchObject({
      SUBSCRIPTION_RETENTION_DAYS: { V0: 0, V3: 10, VIP: 15 }, SUBSCRIPTION_RENEWAL_TIME: '02:30',
    });
    expect(configError({ SUBSCRIPTION_RETENTION_DAYS: 'V4=16' }).message).toMatch(/SUBSCRIPTION_RETENTION_DAYS.*at most 15 days/);
    expect(configError({ SUBSCRIPTION_RETENTION_DAYS: 'V4' }).message).toContain('SUBSCRIPTION_RETENTION_DAYS');
    expect(configError({ SUBSCRIPTION_RENEWAL_TIME: '3:00' }).message).toContain('SUBSCRIPTION_RENEWAL_TIME');
    expect(configError({ SUBSCRIPTION_RENEWAL_TIME: '24:00' }).message).toContain('SUBSCRIPTION_RENEWAL_TIME');
  });

  it('reports every bad variable at once', () => {
    const err = configError({ PORT: 'abc', DATABASE_URL: 'mysql://x', TEMPORAL_ADDRESS: 'nohost' });
    for (const name of ['PORT', 'DATABASE_URL', 'TEMPORAL_ADDRESS']) expect(err.message).toContain(name);
    expect(err.problems).toHaveLength(3);
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({
      PORT: '', DATABASE_URL: '', TEMPORAL_ADDRESS: '', SMTP_URL: '', SMS_ENDPOINT: '', OPS_SUPERVISOR_EMAILS: '',
      MAIL_FROM: '', RUN_API: '', UNRELATED: undefined,
    });
    expect(c.PORT).toBe(3000);
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.TEMPORAL_ADDRESS).toBe('127.0.0.1:7233');
    expect(c.SMTP_URL).toBeUndefined();
    expect(c.SMS_ENDPOINT).toBeUndefined();
    expect(c.OPS_SUPERVISOR_EMAILS).toEqual([]);
    expect(c.MAIL_FROM).toBe('noreply@marketplace.local');
    expect(c.RUN_API).toBe(true);
  });

  it('parses OPS_SUPERVISOR_EMAILS as a comma-separated list, ignoring blanks around and between', () => {
    expect(loadConfig({ OPS_SUPERVISOR_EMAILS: 'a@example.com' }).OPS_SUPERVISOR_EMAILS).toEqual(['a@example.com']);
    expect(loadConfig({ OPS_SUPERVISOR_EMAILS: ' a@example.com, b@example.org ,,c@example.net, ' }).OPS_SUPERVISOR_EMAILS)
      .toEqual(['a@example.com', 'b@example.org', 'c@example.net']);
  });

  it('DEMO_FAST turns three working days and three hours into minutes, explicit values still win', () => {
    const demo = loadConfig({ DEMO_FAST: '1' });
    expect(demo).toMatchObject({ DEMO_FAST: true, DEMO_WORKING_DAY_SECONDS: 60, PROVISION_RETRY_INTERVAL_MS: 20_000, PROVISION_RETRY_WINDOW_MS: 180_000 });
    expect(demo.REVIEW_WORKING_DAYS * demo.DEMO_WORKING_DAY_SECONDS!).toBe(180);
    expect(loadConfig({ DEMO_FAST: 'true', PROVISION_RETRY_WINDOW_MS: '60000' }).PROVISION_RETRY_WINDOW_MS).toBe(60_000);
    expect(loadConfig({}).DEMO_WORKING_DAY_SECONDS).toBeUndefined();
  });

  it('refuses demo durations without DEMO_FAST, so production cannot get them by accident', () => {
    expect(configError({ DEMO_WORKING_DAY_SECONDS: '60' }).problems).toEqual(['DEMO_WORKING_DAY_SECONDS: is for demos only: set DEMO_FAST=1 too']);
  });
});
