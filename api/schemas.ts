import { z } from 'zod';

/** Request and response schemas: they validate input and generate /openapi.json. */
const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(512);
const phone = z.string().regex(/^\+?[1-9]\d{6,14}$/, 'must be a phone number: digits, optionally with a leading +');
const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

export const contact = z.strictObject({ name: text(100), phone, email: z.email() }).meta({ id: 'Contact' });

export const businessInfo = z.strictObject({
  companyName: text(200),
  website: httpUrl,
  /** Unified social credit code (统一社会信用代码): 18 characters. */
  businessLicenceNo: z.string().trim().toUpperCase().regex(/^[0-9A-HJ-NPQRTUWXY]{18}$/, 'must be an 18-character unified social credit code'),
  address: text(500),
  contactName: text(100),
  contactPhone: phone,
  contactEmail: z.email(),
  customerServiceEmail: z.email(),
  logoUrl: httpUrl,
  hasMarketplaceContact: z.boolean(),
});

export const applicationBody = businessInfo.extend({ financeContact: contact.optional() }).meta({ id: 'MerchantApplicationInput' });
export type ApplicationBody = z.infer<typeof applicationBody>;

export const changeBody = z.strictObject({
  business: businessInfo.partial().refine((b) => Object.keys(b).length > 0, 'name at least one field to change').optional(),
  financeContact: contact.optional(),
}).refine((b) => b.business || b.financeContact, 'send business, financeContact or both').meta({ id: 'MerchantChangeInput' });

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

export const reviewQueueQuery = z.strictObject({
  status: z.enum(['pending', 'approved', 'rejected', 'expired']).default('pending'),
  overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  kind: z.enum(['onboarding', 'change']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const approveBody = z.strictObject({ note: z.string().max(2000).optional() }).meta({ id: 'ApproveInput' });
export const rejectBody = z.strictObject({ reasons: z.array(text(1000)).min(1, 'give at least one reason').max(20) }).meta({ id: 'RejectInput' });

export const merchantView = z.object({
  id: z.string(), status: z.string(), profile: z.record(z.string(), z.unknown()),
  financeContact: z.record(z.string(), z.unknown()).nullable(), createdAt: z.string(), updatedAt: z.string(),
}).meta({ id: 'Merchant' });

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
});
