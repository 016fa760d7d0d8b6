import { z } from 'zod';

/**
 * Request and response schemas: they validate input and generate /openapi.json. Each input rule is
 * one the document states exactly (a pattern, a format, a bound), so a request valid by the document
 * is accepted and an invalid one refused: schemathesis checks both in make test (tests/fuzz/).
 */

// The characters String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator), spelled out
// because Python's \s, which the fuzzer reads patterns with, is another set.
const SPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const NOT_BLANK = new RegExp(`^[^\\u0000]*[^\\u0000${SPACE}][^\\u0000]*$`);

/** Free text: at most `max` characters, not blank; stored trimmed. */
export const text = (max: number) => z.string().max(max).regex(NOT_BLANK, 'must not be empty or blank').trim();

/** http(s) URLs with a DNS name or an IPv4 address: what both the document's pattern and WHATWG's URL parser accept. */
// No `xn--` labels: a punycode label that does not decode makes WHATWG's parser refuse the URL.
const LABEL = '(?![Xx][Nn]--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
// The last label starts with a letter: one of digits would make WHATWG read the host as an IPv4 address.
const HOST = `(?:(?:${LABEL}\\.)*(?![Xx][Nn]--)[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d))`;
const PORT = '(?::(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d\\d|6[0-4]\\d{3}|[1-5]\\d{4}|[1-9]\\d{0,3}))?';
const PATH = "(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]*)*(?:\\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?";
export const HTTP_URL = new RegExp(`^https?://${HOST}${PORT}${PATH}$`);
export const httpUrl = z.string().max(512).regex(HTTP_URL, 'must be an http(s) URL with a host name or IPv4 address');

export const phone = z.string().regex(/^\+?[1-9]\d{6,14}$/, 'must be a phone number: digits, optionally with a leading +');

/** E-mail addresses: a dot-atom local part (RFC 5322) at a DNS name. */
const EMAIL = new RegExp(`^[A-Za-z0-9!#$%&'*+/=?^_\`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_\`{|}~-]+)*@(?:${LABEL}\\.)+${LABEL}$`);
// The document states the pattern only: a `format: email` validator is another, looser or stricter, rule.
export const email = z.string().max(254).regex(EMAIL, 'must be an e-mail address');

/** An integer in a query string: digits only (no 1e2, 0x10 or blanks), then bounds. */
export const queryInt = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d{1,16}$/.test(v) ? Number(v) : v), z.number().int().min(min).max(max));

/** A calendar date YYYY-MM-DD that exists (RFC 3339 full-date, the document's `format: date`). */
export const isoDate = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'must be a date YYYY-MM-DD')
  .refine((d) => { const t = Date.parse(`${d}T00:00:00Z`); return !Number.isNaN(t) && new Date(t).toISOString().endsWith(`${d.slice(4)}T00:00:00.000Z`); }, 'no such date')
  .meta({ format: 'date' });

export const contact = z.strictObject({ name: text(100), phone, email }).meta({ id: 'Contact' });

export const businessInfo = z.strictObject({
  companyName: text(200),
  website: httpUrl,
  /** Unified social credit code (统一社会信用代码): 18 characters. */
  businessLicenceNo: z.string().regex(/^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$/, 'must be an 18-character unified social credit code').toUpperCase(),
  address: text(500),
  contactName: text(100),
  contactPhone: phone,
  contactEmail: email,
  customerServiceEmail: email,
  logoUrl: httpUrl,
  hasMarketplaceContact: z.boolean(),
});

export const applicationBody = businessInfo.extend({ financeContact: contact.optional() }).meta({ id: 'MerchantApplicationInput' });
export type ApplicationBody = z.infer<typeof applicationBody>;

export const changeBody = z.strictObject({
  business: businessInfo.partial().refine((b) => Object.keys(b).length > 0, 'name at least one field to change').meta({ minProperties: 1 }).optional(),
  financeContact: contact.optional(),
}).refine((b) => b.business || b.financeContact, 'send business, financeContact or both').meta({ id: 'MerchantChangeInput', minProperties: 1 });

export const idParam = z.strictObject({ id: z.string().regex(/^[A-Z0-9]{4,40}$/, 'malformed id') });

export const reviewEvent = z.object({
  type: z.string(), round: z.number().int(), actor: z.string().nullable(), at: z.string(), data: z.record(z.string(), z.unknown()),
}).meta({ id: 'ReviewEvent' });

export const applicationView = z.object({
  id: z.string(),
  kind: z.enum(['onboarding', 'change']),
  status: z.enum(['pending', 'approved', 'rejected', 'expired']),
  overdue: z.boolean(),
  round: z.number().int(),
  openedAt: z.string(),
  deadline: z.string().nullable().describe('end of the review window; null for a moment while the workflow computes it'),
  decidedAt: z.string().nullable(),
  decidedBy: z.string().nullable(),
  reasons: z.array(z.string()).nullable(),
  merchantId: z.string().nullable(),
  workflowId: z.string(),
  workflowStartedAt: z.string().nullable().describe('when the review workflow was confirmed started; null while the intake sweep has yet to start it'),
  application: z.record(z.string(), z.unknown()),
  history: z.array(reviewEvent).optional(),
}).meta({ id: 'MerchantApplication' });

export const approveBody = z.strictObject({ note: z.string().max(2000).optional() }).meta({ id: 'ApproveInput' });
export const rejectBody = z.strictObject({ reasons: z.array(text(1000)).min(1, 'give at least one reason').max(20) }).meta({ id: 'RejectInput' });

export const merchantView = z.object({
  id: z.string(), status: z.string(), profile: z.record(z.string(), z.unknown()),
  financeContact: z.record(z.string(), z.unknown()).nullable(), createdAt: z.string(), updatedAt: z.string(),
}).meta({ id: 'Merchant' });

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
});
