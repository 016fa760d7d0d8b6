import { sql } from 'drizzle-orm';
import type { ConformanceReport } from '../conformance/checks';
import {
  bigint, bigserial, boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** A party that calls the API: a buyer account, a seller (bound to a merchant), or an operator. */
export const principals = pgTable('principals', {
  id: text('id').primaryKey(),
  role: text('role', { enum: ['buyer', 'seller', 'operator'] }).notNull(),
  name: text('name').notNull(),
  email: text('email'),
  phone: text('phone'),
  merchantId: text('merchant_id'),
  /** Operators flagged as supervisors receive escalations of overdue reviews. */
  supervisor: boolean('supervisor').notNull().default(false),
  /** A buyer's customer level (V0–V5): how long an expired subscription stays frozen before release (spec §7.2). */
  customerLevel: text('customer_level').notNull().default('V0'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** API keys are stored as SHA-256 of the secret part; the prefix finds the row. */
export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  principalId: text('principal_id').notNull().references(() => principals.id),
  secretHash: text('secret_hash').notNull(),
  label: text('label'),
  createdAt: ts('created_at').notNull().defaultNow(),
  revokedAt: ts('revoked_at'),
});

export const merchants = pgTable('merchants', {
  id: text('id').primaryKey(),
  ownerPrincipalId: text('owner_principal_id').notNull().references(() => principals.id),
  status: text('status', { enum: ['active', 'suspended'] }).notNull(),
  /** Business information: changes apply only once a review approves them. */
  profile: jsonb('profile').$type<Record<string, unknown>>().notNull(),
  /** Finance contact: changes apply at once. */
  financeContact: jsonb('finance_contact').$type<Record<string, unknown> | null>(),
  onboardingApplicationId: text('onboarding_application_id').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** A review case: onboarding of a new seller, or a change of a seller's business information. */
export const merchantApplications = pgTable(
  'merchant_applications',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['onboarding', 'change'] }).notNull(),
    applicantPrincipalId: text('applicant_principal_id').notNull().references(() => principals.id),
    merchantId: text('merchant_id'),
    /** Business licence number (unified social credit code): identifies the company. */
    licenceNo: text('licence_no').notNull(),
    status: text('status', { enum: ['pending', 'approved', 'rejected', 'expired'] }).notNull(),
    overdue: boolean('overdue').notNull().default(false),
    round: integer('round').notNull().default(1),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    openedAt: ts('opened_at').notNull(),
    deadline: ts('deadline'),
    decidedAt: ts('decided_at'),
    decidedBy: text('decided_by'),
    reasons: jsonb('reasons').$type<string[] | null>(),
    workflowId: text('workflow_id').notNull(),
    /** When the case's workflow was confirmed started; null until then (api/review-intake.ts starts it). */
    workflowStartedAt: ts('workflow_started_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // One open case per company (onboarding) and per merchant (changes). Rejected cases stay open
    // because the applicant may resubmit into them.
    uniqueIndex('merchant_applications_open_onboarding')
      .on(t.licenceNo)
      .where(sql`kind = 'onboarding' and status in ('pending', 'rejected')`),
    uniqueIndex('merchant_applications_open_change')
      .on(t.merchantId)
      .where(sql`kind = 'change' and status in ('pending', 'rejected')`),
    index('merchant_applications_queue').on(t.status, t.deadline),
    index('merchant_applications_applicant').on(t.applicantPrincipalId),
    index('merchant_applications_unstarted').on(t.createdAt).where(sql`workflow_started_at is null`),
  ],
);

/** A resubmission staged by the API, promoted into the case by the workflow's Update. */
export const applicationRevisions = pgTable('application_revisions', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => merchantApplications.id),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** The case history. `eventKey` makes each write idempotent under activity retries. */
export const reviewEvents = pgTable(
  'review_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    applicationId: text('application_id').notNull().references(() => merchantApplications.id),
    eventKey: text('event_key').notNull(),
    type: text('type').notNull(),
    round: integer('round').notNull(),
    actor: text('actor'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    at: ts('at').notNull(),
  },
  (t) => [uniqueIndex('review_events_key').on(t.applicationId, t.eventKey)],
);

/** Statutory holidays and make-up working days in Asia/Shanghai. */
export const calendarDays = pgTable('calendar_days', {
  date: text('date').primaryKey(),
  kind: text('kind', { enum: ['holiday', 'workday'] }).notNull(),
  name: text('name').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * A year of the working-day calendar counts as entered only once an operator marks it complete, after
 * entering its holidays and make-up days; until then start-up warns and /healthz names it (decision 011).
 */
export const calendarYears = pgTable('calendar_years', {
  year: integer('year').primaryKey(),
  completedAt: ts('completed_at').notNull().defaultNow(),
  completedBy: text('completed_by'),
});

/** Every message sent to a party, on any channel. In-site messages live only here. */
export const notifications = pgTable(
  'notifications',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** Caller's key plus channel: a retried activity never sends twice. */
    dedupeKey: text('dedupe_key').notNull(),
    channel: text('channel', { enum: ['email', 'sms', 'inapp'] }).notNull(),
    recipientPrincipalId: text('recipient_principal_id'),
    address: text('address'),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    /** sent: delivered to SMTP/SMS gateway; outbox: no gateway configured; stored: in-site. */
    status: text('status', { enum: ['pending', 'sent', 'outbox', 'stored'] }).notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
    readAt: ts('read_at'),
  },
  (t) => [
    uniqueIndex('notifications_dedupe').on(t.dedupeKey),
    index('notifications_recipient').on(t.recipientPrincipalId, t.channel),
  ],
);

// ---- Catalog, accounts and orders (SaaS provisioning) ----

export const products = pgTable('products', {
  id: text('id').primaryKey(),
  merchantId: text('merchant_id').notNull().references(() => merchants.id),
  name: text('name').notNull(),
  deliveryType: text('delivery_type', { enum: ['saas', 'image', 'license', 'manual_service', 'hardware', 'api'] }).notNull(),
  status: text('status', { enum: ['draft', 'on_sale', 'stopped'] }).notNull().default('draft'),
  /** Set by dial tests after 5 failing days: no trading, hidden from buyers, until an operator lifts it. */
  tradingFrozen: boolean('trading_frozen').notNull().default(false),
  flaggedForDelisting: boolean('flagged_for_delisting').notNull().default(false),
  /** SaaS only: the seller's production interface address and its access key, encrypted with the master key. */
  productionUrl: text('production_url'),
  accessKeyEnc: text('access_key_enc'),
  /** Set by operators: a reply without a Body-Sign is refused (a wrong one always is). */
  requireBodySign: boolean('require_body_sign').notNull().default(false),
  /** Whether the latest 200 reply carried a valid Body-Sign; null before the first. */
  repliesSigned: boolean('replies_signed'),
  /** The marketplace's commission on this product's sales, in basis points (1000 = 10%). */
  commissionRateBp: integer('commission_rate_bp').notNull().default(1000),
  /** The latest conformance run that passed, shown to operators when they put the product on sale. */
  conformanceRunId: text('conformance_run_id'),
  conformancePassedAt: ts('conformance_passed_at'),
  /** Image products: the approved asset version delivered, and the release application that listed it. */
  imageVersionId: text('image_version_id'),
  releaseApplicationId: text('release_application_id'),
  description: text('description'),
  /** Paid lines go through service supervision (docs/supervision.md). Fixed once the product has been on sale (a trigger). */
  supervised: boolean('supervised').notNull().default(false),
  /** Supervised products: the proof kinds every delivery must include (the product's delivery template). */
  deliveryTemplate: jsonb('delivery_template').$type<string[]>().notNull().default([]),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const skus = pgTable('skus', {
  id: text('id').primaryKey(),
  productId: text('product_id').notNull().references(() => products.id),
  name: text('name').notNull(),
  chargingMode: text('charging_mode', { enum: ['yearly', 'monthly', 'one_time', 'on_demand'] }).notNull(),
  /** Number of years or months bought for yearly/monthly SKUs. */
  periods: integer('periods').notNull().default(1),
  priceCents: integer('price_cents').notNull(),
  /** A trial SKU: free for this many days, then released unless the buyer converts it at `priceCents` a term. */
  trialDays: integer('trial_days'),
});

export const orders = pgTable('orders', {
  id: text('id').primaryKey(),
  buyerPrincipalId: text('buyer_principal_id').notNull().references(() => principals.id),
  idempotencyKey: text('idempotency_key'),
  status: text('status', { enum: ['processing', 'completed', 'failed', 'cancelled'] }).notNull(),
  totalCents: integer('total_cents').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [
  uniqueIndex('orders_idempotency').on(t.buyerPrincipalId, t.idempotencyKey),
  // A buyer's order list, page by page (api/pagination.ts orders by the instant to the millisecond, in UTC).
  index('orders_buyer_page').on(t.buyerPrincipalId, sql`date_trunc('milliseconds', ${t.createdAt} at time zone 'UTC')`, t.id),
]);

export const orderLines = pgTable('order_lines', {
  id: text('id').primaryKey(),
  orderId: text('order_id').notNull().references(() => orders.id),
  productId: text('product_id').notNull().references(() => products.id),
  skuId: text('sku_id').notNull().references(() => skus.id),
  merchantId: text('merchant_id').notNull().references(() => merchants.id),
  status: text('status', { enum: ['processing', 'delivered', 'failed', 'cancelled'] }).notNull(),
  /** Why provisioning is stuck or failed, as the seller and operators see it. */
  provisioning: text('provisioning', { enum: ['calling', 'polling', 'stuck', 'interface_failed', 'done'] }).notNull().default('calling'),
  priceCents: integer('price_cents').notNull(),
  instanceId: text('instance_id'),
  failure: text('failure'),
  /** The seller answered another instance id for this line than the first one: flagged for operators. */
  instanceConflict: boolean('instance_conflict').notNull().default(false),
  /** Failed because the seller's interface kept failing (counts toward the monthly delisting review). */
  interfaceFailed: boolean('interface_failed').notNull().default(false),
  expiresAt: ts('expires_at'),
  /** When the line's provisioning workflow was confirmed started; null until then (the orders sweep starts it). */
  workflowStartedAt: ts('workflow_started_at'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [
  index('order_lines_order').on(t.orderId), index('order_lines_merchant').on(t.merchantId),
  index('order_lines_unstarted').on(t.createdAt).where(sql`workflow_started_at is null`),
]);

/** Every call to a seller's production interface, with what went out, what came back and how long it took. */
export const interfaceMessages = pgTable('interface_messages', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  dedupeKey: text('dedupe_key').notNull(),
  orderLineId: text('order_line_id').references(() => orderLines.id),
  productId: text('product_id').notNull().references(() => products.id),
  merchantId: text('merchant_id').notNull(),
  activity: text('activity').notNull(),
  request: jsonb('request').$type<Record<string, unknown>>().notNull(),
  httpStatus: integer('http_status'),
  response: text('response'),
  resultCode: text('result_code'),
  outcome: text('outcome', { enum: ['success', 'async', 'retryable', 'refused'] }).notNull(),
  error: text('error'),
  latencyMs: integer('latency_ms').notNull(),
  at: ts('at').notNull(),
}, (t) => [uniqueIndex('interface_messages_dedupe').on(t.dedupeKey), index('interface_messages_line').on(t.orderLineId)]);

/** A delivered SaaS instance. Credentials are read live from the seller, not stored. */
export const instances = pgTable('instances', {
  id: text('id').primaryKey(),
  orderLineId: text('order_line_id').notNull().references(() => orderLines.id),
  productId: text('product_id').notNull().references(() => products.id),
  buyerPrincipalId: text('buyer_principal_id').notNull().references(() => principals.id),
  deliveredBy: text('delivered_by', { enum: ['interface', 'manual'] }).notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
}, (t) => [uniqueIndex('instances_order_line').on(t.orderLineId)]);

/** Nonces seen on signed open-API calls, per access key: a nonce is accepted once (replay protection). */
export const openApiNonces = pgTable('open_api_nonces', {
  keyId: text('key_id').notNull(),
  nonce: text('nonce').notNull(),
  seenAt: ts('seen_at').notNull().defaultNow(),
}, (t) => [uniqueIndex('open_api_nonces_key').on(t.keyId, t.nonce), index('open_api_nonces_seen').on(t.seenAt)]);

/** A seller's debug call that passed: replayed by the dial tests. */
export const dialTestCases = pgTable('dial_test_cases', {
  id: text('id').primaryKey(),
  productId: text('product_id').notNull().references(() => products.id),
  activity: text('activity', { enum: ['newInstance', 'queryInstance'] }).notNull(),
  /** The call's body without the per-call fields (businessId, testFlag), which each replay sets anew. */
  body: jsonb('body').$type<Record<string, string>>().notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** One dial-test run of one product: did every saved case pass. */
export const dialTestRuns = pgTable('dial_test_runs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  dedupeKey: text('dedupe_key').notNull(),
  productId: text('product_id').notNull().references(() => products.id),
  /** Asia/Shanghai date of the run, the unit in which failing days are counted. */
  day: text('day').notNull(),
  passed: boolean('passed').notNull(),
  details: jsonb('details').$type<{ caseId: string; passed: boolean; error?: string }[]>().notNull(),
  at: ts('at').notNull(),
}, (t) => [uniqueIndex('dial_test_runs_dedupe').on(t.dedupeKey), index('dial_test_runs_product_day').on(t.productId, t.day)]);

/** A seller conformance run on a product (docs/seller-conformance.md): requested over the API, run by a workflow. */
export const conformanceRuns = pgTable('conformance_runs', {
  id: text('id').primaryKey(),
  productId: text('product_id').notNull().references(() => products.id),
  merchantId: text('merchant_id').notNull().references(() => merchants.id),
  requestedBy: text('requested_by').notNull().references(() => principals.id),
  /** running until the report is stored; while our own fault holds it, its workflow is stuck (stuck_processes). */
  status: text('status', { enum: ['running', 'passed', 'failed'] }).notNull(),
  /** The kit's options as the run was requested (configuration snapshot). */
  options: jsonb('options').$type<{ timeoutMs: number; pollWindowMs: number; pollIntervalMs: number; periodic: boolean }>().notNull(),
  report: jsonb('report').$type<ConformanceReport>(),
  createdAt: ts('created_at').notNull().defaultNow(),
  workflowStartedAt: ts('workflow_started_at'),
  finishedAt: ts('finished_at'),
}, (t) => [
  // One run at a time per product: a second request while one runs gets that one.
  uniqueIndex('conformance_runs_one_running').on(t.productId).where(sql`status = 'running'`),
  index('conformance_runs_product').on(t.productId, t.createdAt),
  index('conformance_runs_unstarted').on(t.createdAt).where(sql`workflow_started_at is null`),
]);

// ---- The double-entry ledger (docs/decisions/010-double-entry-ledger.md, db/ledger.ts) ----

/**
 * An account of the ledger: a buyer's balance, a seller's payable, or one of the marketplace's own
 * (clearing, commission, payments received). `balance_cents` is kept only where a rule needs it at
 * once (a buyer's balance may not go below zero): a trigger adds each entry to it, and nothing else
 * may change it. Elsewhere it is null and the balance is the sum of the account's entries.
 */
export const ledgerAccounts = pgTable('ledger_accounts', {
  id: text('id').primaryKey(),
  kind: text('kind', { enum: ['buyer', 'seller_payable', 'clearing', 'commission', 'payments'] }).notNull(),
  /** The buyer's principal id or the seller's merchant id; null for the marketplace's accounts. */
  ownerId: text('owner_id'),
  balanceCents: bigint('balance_cents', { mode: 'number' }),
  createdAt: ts('created_at').notNull().defaultNow(),
}, (t) => [
  check('ledger_accounts_buyer_not_negative', sql`${t.kind} <> 'buyer' or ${t.balanceCents} >= 0`),
  check('ledger_accounts_balance_kept_for_buyers', sql`(${t.kind} = 'buyer') = (${t.balanceCents} is not null)`),
  index('ledger_accounts_owner').on(t.ownerId),
]);

/** One business event in money: two or more entries that sum to zero (checked by the database at commit). */
export const ledgerTransactions = pgTable('ledger_transactions', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** The business key: a retried write finds its transaction already there and writes nothing. */
  key: text('key').notNull(),
  kind: text('kind', { enum: ['top_up', 'charge', 'settlement', 'refund'] }).notNull(),
  /** What was sold: a new order line, a renewal, a trial's conversion. */
  sale: text('sale', { enum: ['new', 'renewal', 'conversion'] }),
  orderId: text('order_id'),
  orderLineId: text('order_line_id'),
  instanceId: text('instance_id'),
  buyerId: text('buyer_id'),
  merchantId: text('merchant_id'),
  productId: text('product_id'),
  /** The settlement or refund's charge. */
  chargeId: bigint('charge_id', { mode: 'number' }),
  grossCents: bigint('gross_cents', { mode: 'number' }).notNull(),
  commissionCents: bigint('commission_cents', { mode: 'number' }).notNull().default(0),
  memo: text('memo'),
  at: ts('at').notNull().defaultNow(),
}, (t) => [
  uniqueIndex('ledger_transactions_key').on(t.key),
  index('ledger_transactions_merchant').on(t.merchantId, t.at),
  index('ledger_transactions_buyer').on(t.buyerId, t.at),
  index('ledger_transactions_charge').on(t.chargeId),
  index('ledger_transactions_order').on(t.orderId),
]);

export const ledgerEntries = pgTable('ledger_entries', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  transactionId: bigint('transaction_id', { mode: 'number' }).notNull().references(() => ledgerTransactions.id),
  accountId: text('account_id').notNull().references(() => ledgerAccounts.id),
  amountCents: bigint('amount_cents', { mode: 'number' }).notNull(),
}, (t) => [index('ledger_entries_account').on(t.accountId, t.id), index('ledger_entries_transaction').on(t.transactionId)]);
/**
 * Processes waiting on one of our own faults (workflows/stuck.ts): the operators' list. One row per
 * workflow; a later episode of the same workflow reopens it.
 */
export const stuckProcesses = pgTable('stuck_processes', {
  workflowId: text('workflow_id').primaryKey(),
  workflowType: text('workflow_type').notNull(),
  /** The entity the process is about: application id, order line id, … */
  subjectId: text('subject_id').notNull(),
  step: text('step').notNull(),
  failureType: text('failure_type').notNull(),
  /** Free of SQL parameters and personal data (activities/failures.ts). */
  message: text('message').notNull(),
  since: ts('since').notNull(),
  nextCheckAt: ts('next_check_at'),
  rechecks: integer('rechecks').notNull().default(0),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  resolvedAt: ts('resolved_at'),
  resolvedBy: text('resolved_by'),
}, (t) => [index('stuck_processes_open').on(t.since).where(sql`resolved_at is null`)]);
// ---- Image assets and their security scan ----

/** A seller's image asset (spec §6.1): what the image is and where it may be replicated. */
export const imageAssets = pgTable('image_assets', {
  id: text('id').primaryKey(),
  merchantId: text('merchant_id').notNull().references(() => merchants.id),
  name: text('name').notNull(),
  os: text('os').notNull(),
  regions: jsonb('regions').$type<string[]>().notNull(),
  securityGroup: jsonb('security_group').$type<Record<string, unknown>>().notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
}, (t) => [index('image_assets_merchant').on(t.merchantId)]);

/** One uploaded version of an asset: the archive in the artifact store, and its scan outcome and report. */
export const imageAssetVersions = pgTable('image_asset_versions', {
  id: text('id').primaryKey(),
  assetId: text('asset_id').notNull().references(() => imageAssets.id),
  version: text('version').notNull(),
  status: text('status', { enum: ['scanning', 'approved', 'rejected'] }).notNull(),
  artifactKey: text('artifact_key').notNull(),
  compression: text('compression', { enum: ['none', 'gzip'] }).notNull(),
  sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
  sha256: text('sha256').notNull(),
  /** Scans of this version so far: 1 after upload, +1 per rescan. */
  scanNo: integer('scan_no').notNull().default(1),
  /** Findings of the last finished scan, its summary counts, and when it finished. */
  findings: jsonb('findings').$type<Record<string, unknown>[] | null>(),
  summary: jsonb('summary').$type<Record<string, unknown> | null>(),
  scannedAt: ts('scanned_at'),
  /** Set when a rescan rejected a version that was approved (newly vulnerable); the seller is told. */
  flaggedAt: ts('flagged_at'),
  uploadedBy: text('uploaded_by').notNull(),
  workflowId: text('workflow_id').notNull(),
  workflowStartedAt: ts('workflow_started_at'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [
  uniqueIndex('image_asset_versions_version').on(t.assetId, t.version),
  index('image_asset_versions_unstarted').on(t.createdAt).where(sql`workflow_started_at is null`),
]);

/** The last checkpoint of a running scan (scan key = version id and scan number): where a retry resumes. */
export const scanCheckpoints = pgTable('scan_checkpoints', {
  scanKey: text('scan_key').primaryKey(),
  versionId: text('version_id').notNull().references(() => imageAssetVersions.id),
  checkpoint: jsonb('checkpoint').$type<Record<string, unknown>>().notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** Every attempt of a scan activity: where it started reading and how much it read. */
export const scanAttempts = pgTable('scan_attempts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  scanKey: text('scan_key').notNull(),
  attempt: integer('attempt').notNull(),
  fromFileOffset: bigint('from_file_offset', { mode: 'number' }).notNull(),
  fromTarOffset: bigint('from_tar_offset', { mode: 'number' }).notNull(),
  bytesRead: bigint('bytes_read', { mode: 'number' }).notNull().default(0),
  startedAt: ts('started_at').notNull().defaultNow(),
  finishedAt: ts('finished_at'),
}, (t) => [uniqueIndex('scan_attempts_key').on(t.scanKey, t.attempt)]);

/** Operator-managed SHA-256 digests of known-bad files. */
export const malwareDigests = pgTable('malware_digests', {
  sha256: text('sha256').primaryKey(),
  name: text('name').notNull(),
  addedBy: text('added_by').notNull(),
  addedAt: ts('added_at').notNull().defaultNow(),
});

/** The offline vulnerability feed (OSV records) that operators load through the API. */
export const vulnerabilities = pgTable('vulnerabilities', {
  id: text('id').primaryKey(),
  record: jsonb('record').$type<Record<string, unknown>>().notNull(),
  modified: text('modified'),
  loadedAt: ts('loaded_at').notNull().defaultNow(),
});

/** Which packages each vulnerability names, by ecosystem (`Debian`, `Alpine`), for the scan's look-up. */
export const vulnerabilityPackages = pgTable('vulnerability_packages', {
  vulnerabilityId: text('vulnerability_id').notNull().references(() => vulnerabilities.id, { onDelete: 'cascade' }),
  ecosystem: text('ecosystem').notNull(),
  name: text('name').notNull(),
}, (t) => [uniqueIndex('vulnerability_packages_key').on(t.vulnerabilityId, t.ecosystem, t.name), index('vulnerability_packages_name').on(t.ecosystem, t.name)]);

// ---- Release review of image products ----

/** A seller's application to release an image product (spec §5.2), reviewed in rounds like seller onboarding. */
export const productApplications = pgTable('product_applications', {
  id: text('id').primaryKey(),
  merchantId: text('merchant_id').notNull().references(() => merchants.id),
  applicantPrincipalId: text('applicant_principal_id').notNull().references(() => principals.id),
  imageVersionId: text('image_version_id').notNull().references(() => imageAssetVersions.id),
  /** Name, description, pricing and regions as the seller filed them (the latest round's). */
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  status: text('status', { enum: ['pending', 'approved', 'rejected', 'expired'] }).notNull(),
  overdue: boolean('overdue').notNull().default(false),
  round: integer('round').notNull().default(1),
  /** Asia/Shanghai date it was filed: 10 or more filings by one seller that day extend the deadline. */
  filedDay: text('filed_day').notNull(),
  openedAt: ts('opened_at').notNull(),
  deadline: ts('deadline'),
  decidedAt: ts('decided_at'),
  decidedBy: text('decided_by'),
  reasons: jsonb('reasons').$type<string[] | null>(),
  productId: text('product_id'),
  workflowId: text('workflow_id').notNull(),
  workflowStartedAt: ts('workflow_started_at'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [
  index('product_applications_filed').on(t.merchantId, t.filedDay),
  index('product_applications_queue').on(t.status, t.deadline),
  index('product_applications_unstarted').on(t.createdAt).where(sql`workflow_started_at is null`),
]);

export const productApplicationRevisions = pgTable('product_application_revisions', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => productApplications.id),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const productReviewEvents = pgTable('product_review_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  applicationId: text('application_id').notNull().references(() => productApplications.id),
  eventKey: text('event_key').notNull(),
  type: text('type').notNull(),
  round: integer('round').notNull(),
  actor: text('actor'),
  data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
  at: ts('at').notNull(),
}, (t) => [uniqueIndex('product_review_events_key').on(t.applicationId, t.eventKey)]);
// ---- Service supervision (docs/supervision.md) ----

/** The read model of a supervised order line's flow, written by the `supervision:{orderLineId}` workflow's activities. */
export const supervisions = pgTable('supervisions', {
  orderLineId: text('order_line_id').primaryKey().references(() => orderLines.id),
  orderId: text('order_id').notNull().references(() => orders.id),
  buyerPrincipalId: text('buyer_principal_id').notNull().references(() => principals.id),
  merchantId: text('merchant_id').notNull().references(() => merchants.id),
  productId: text('product_id').notNull().references(() => products.id),
  kind: text('kind').notNull(),
  stage: text('stage').notNull(),
  /** When the current stage began: the party whose turn it is has been idle since. */
  stageEnteredAt: ts('stage_entered_at').notNull(),
  appealState: text('appeal_state', { enum: ['none', 'open', 'decided'] }).notNull().default('none'),
  appeal: jsonb('appeal').$type<Record<string, unknown> | null>(),
  refundRequestedAt: ts('refund_requested_at'),
  buyerRejections: integer('buyer_rejections').notNull().default(0),
  sellerRejections: integer('seller_rejections').notNull().default(0),
  deliveredAt: ts('delivered_at'),
  signedOffAt: ts('signed_off_at'),
  actualStartAt: ts('actual_start_at'),
  acceptedAt: ts('accepted_at'),
  /** Periodic lines: the validity starts at the actual start time, else at acceptance. */
  validFrom: ts('valid_from'),
  validUntil: ts('valid_until'),
  /** The sequence number of the last log entry applied here: a retried write never moves the row back. */
  lastSeq: integer('last_seq').notNull().default(0),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [index('supervisions_buyer').on(t.buyerPrincipalId), index('supervisions_merchant').on(t.merchantId), index('supervisions_appeal').on(t.appealState)]);

/**
 * The operation log: every action on a supervised line, the evidence in disputes. Append-only (a trigger
 * refuses updates and deletes); `(orderLineId, seq)` is unique and the workflow numbers the entries, so a
 * retried activity never writes one twice.
 */
export const supervisionLog = pgTable('supervision_log', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  orderLineId: text('order_line_id').notNull().references(() => orderLines.id),
  seq: integer('seq').notNull(),
  actorRole: text('actor_role', { enum: ['buyer', 'seller', 'operator', 'system'] }).notNull(),
  actorId: text('actor_id'),
  action: text('action').notNull(),
  /** The stage the action was taken in, and the stage it led to. */
  stage: text('stage').notNull(),
  stageAfter: text('stage_after').notNull(),
  comment: text('comment'),
  attachments: jsonb('attachments').$type<string[]>().notNull().default([]),
  data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
  at: ts('at').notNull(),
}, (t) => [uniqueIndex('supervision_log_seq').on(t.orderLineId, t.seq)]);

/** Files of a supervised line (requirement attachments, delivery proof, appeal evidence), kept in the artifact store. */
export const supervisionFiles = pgTable('supervision_files', {
  id: text('id').primaryKey(),
  orderLineId: text('order_line_id').notNull().references(() => orderLines.id),
  uploadedBy: text('uploaded_by').notNull().references(() => principals.id),
  uploaderRole: text('uploader_role', { enum: ['buyer', 'seller', 'operator'] }).notNull(),
  kind: text('kind').notNull(),
  filename: text('filename').notNull(),
  contentType: text('content_type').notNull(),
  size: integer('size').notNull(),
  sha256: text('sha256').notNull(),
  storageKey: text('storage_key').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
}, (t) => [index('supervision_files_line').on(t.orderLineId)]);

/** Every download of a supervision file: who, when. */
export const supervisionDownloads = pgTable('supervision_downloads', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  fileId: text('file_id').notNull().references(() => supervisionFiles.id),
  principalId: text('principal_id').notNull().references(() => principals.id),
  role: text('role').notNull(),
  at: ts('at').notNull().defaultNow(),
}, (t) => [index('supervision_downloads_file').on(t.fileId)]);

// ---- Subscriptions (docs/subscription.md) ----

/**
 * One yearly/monthly instance's lifecycle, written at delivery (the durable record the sweep starts
 * from, decision 008) and kept up to date by its `subscription:{id}` workflow as the read model.
 */
export const subscriptions = pgTable('subscriptions', {
  /** The instance id. */
  id: text('id').primaryKey().references(() => instances.id),
  orderLineId: text('order_line_id').notNull().references(() => orderLines.id),
  buyerPrincipalId: text('buyer_principal_id').notNull().references(() => principals.id),
  merchantId: text('merchant_id').notNull(),
  productId: text('product_id').notNull().references(() => products.id),
  skuId: text('sku_id').notNull().references(() => skus.id),
  trial: boolean('trial').notNull(),
  status: text('status', { enum: ['trial', 'active', 'frozen', 'released'] }).notNull(),
  stuck: text('stuck'),
  policy: text('policy', { enum: ['auto_renew', 'no_renewal'] }).notNull(),
  deliveredAt: ts('delivered_at').notNull(),
  expiresAt: ts('expires_at').notNull(),
  releaseAt: ts('release_at'),
  nextAction: text('next_action'),
  nextActionAt: ts('next_action_at'),
  /** The workflow's own clock when it last wrote this row; a late write of an older state never overwrites a newer one. */
  version: bigint('version', { mode: 'number' }).notNull().default(0),
  workflowStartedAt: ts('workflow_started_at'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [
  index('subscriptions_buyer').on(t.buyerPrincipalId), index('subscriptions_merchant').on(t.merchantId),
  index('subscriptions_unstarted').on(t.createdAt).where(sql`workflow_started_at is null`),
]);

/** Orders a subscription makes after the first: renewals, a trial's conversion, unsubscriptions. */
export const subscriptionOrders = pgTable('subscription_orders', {
  id: text('id').primaryKey(),
  orderLineId: text('order_line_id').notNull(),
  instanceId: text('instance_id').notNull().references(() => subscriptions.id),
  buyerPrincipalId: text('buyer_principal_id').notNull(),
  kind: text('kind', { enum: ['renewal', 'conversion', 'unsubscribe', 'renewal_unsubscribe'] }).notNull(),
  /** auto (the 03:00 renewal) or manual (the buyer's). */
  trigger: text('trigger', { enum: ['auto', 'manual'] }),
  periods: integer('periods').notNull().default(0),
  startsAt: ts('starts_at'),
  endsAt: ts('ends_at'),
  priceCents: integer('price_cents').notNull().default(0),
  status: text('status', { enum: ['paid', 'effective', 'refunded', 'done'] }).notNull(),
  /** An unsubscription's Asia/Shanghai calendar year: the no-reason quota counts per year. */
  year: integer('year'),
  /** The renewal order an unsubscription of a renewal period refunds. */
  refersTo: text('refers_to'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [
  index('subscription_orders_instance').on(t.instanceId, t.createdAt),
  uniqueIndex('subscription_orders_line').on(t.orderLineId),
  index('subscription_orders_quota').on(t.buyerPrincipalId, t.year).where(sql`kind = 'unsubscribe'`),
  uniqueIndex('subscription_orders_one_unsubscribe').on(t.instanceId).where(sql`kind = 'unsubscribe'`),
]);

/** What happened to a subscription, at the workflow's instant; `key` makes each write idempotent. */
export const subscriptionEvents = pgTable('subscription_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  instanceId: text('instance_id').notNull().references(() => subscriptions.id),
  key: text('key').notNull(),
  type: text('type').notNull(),
  data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
  at: ts('at').notNull(),
}, (t) => [uniqueIndex('subscription_events_key').on(t.key), index('subscription_events_instance').on(t.instanceId, t.at)]);

/** Leases on a seller endpoint's call slots: at most `limit` calls in flight per endpoint across all workers. */
export const sellerEndpointSlots = pgTable('seller_endpoint_slots', {
  endpoint: text('endpoint').notNull(),
  slot: integer('slot').notNull(),
  holder: text('holder'),
  until: ts('until').notNull().default(sql`'-infinity'`),
}, (t) => [primaryKey({ columns: [t.endpoint, t.slot] })]);

/**
 * The first request each Idempotency-Key was used with, per caller and request path (api/idempotency.ts):
 * the same key with another body is refused with 422 naming this fingerprint.
 */
export const idempotencyKeys = pgTable('idempotency_keys', {
  principalId: text('principal_id').notNull(),
  /** `POST /v1/orders`: the method and the path the key was used on. */
  request: text('request').notNull(),
  key: text('key').notNull(),
  /** SHA-256 of the canonical JSON of the body, hex. */
  fingerprint: text('fingerprint').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.principalId, t.request, t.key] })]);
