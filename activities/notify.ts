import { and, eq } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { merchantApplications, merchants, notifications, principals } from '../db/schema';
import { renderTemplate } from './templates';

/** Who a message is for. Addresses are looked up here, so no personal data enters workflow history. */
export type Party =
  | { kind: 'applicant'; applicationId: string }
  | { kind: 'supervisors' }
  | { kind: 'principal'; principalId: string }
  | { kind: 'merchant'; merchantId: string };

interface Recipient { principalId?: string; email?: string; phone?: string }
type Channel = 'email' | 'sms' | 'inapp';

export interface Transports {
  /** Delivers an e-mail; returns false when no SMTP server is configured (the message stays in the outbox). */
  email(to: string, subject: string, body: string, messageId: string): Promise<boolean>;
  sms(to: string, text: string): Promise<boolean>;
}

export function createTransports(config: Pick<Config, 'SMTP_URL' | 'MAIL_FROM' | 'SMS_ENDPOINT'>): Transports {
  const mailer = config.SMTP_URL ? nodemailer.createTransport(config.SMTP_URL) : null;
  return {
    async email(to, subject, text, messageId) {
      if (!mailer) return false;
      await mailer.sendMail({ from: config.MAIL_FROM, to, subject, text, messageId });
      return true;
    },
    async sms(to, text) {
      if (!config.SMS_ENDPOINT) return false;
      const res = await fetch(config.SMS_ENDPOINT, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to, text }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`SMS gateway answered HTTP ${res.status}`);
      return true;
    },
  };
}

export function createNotifyActivities({ db, config, transports }: { db: Db; config: Pick<Config, 'OPS_SUPERVISOR_EMAILS'>; transports: Transports }) {
  async function recipients(party: Party): Promise<Recipient[]> {
    switch (party.kind) {
      case 'applicant': {
        const [app] = await db.select().from(merchantApplications).where(eq(merchantApplications.id, party.applicationId));
        if (!app) throw ApplicationFailure.nonRetryable(`application ${party.applicationId} not found`, 'ApplicationNotFound');
        const p = app.payload as { customerServiceEmail?: string; contactPhone?: string };
        // The spec sends review results to the customer-service e-mail and the contact's phone.
        return [{ principalId: app.applicantPrincipalId, email: p.customerServiceEmail, phone: p.contactPhone }];
      }
      case 'supervisors': {
        const ops = await db.select().from(principals).where(and(eq(principals.role, 'operator'), eq(principals.supervisor, true)));
        const listed = ops.map((o) => ({ principalId: o.id, email: o.email ?? undefined, phone: o.phone ?? undefined }));
        const extra = config.OPS_SUPERVISOR_EMAILS.filter((e) => !listed.some((l) => l.email === e)).map((email) => ({ email }));
        return [...listed, ...extra];
      }
      case 'merchant': {
        // The seller's accounts get in-site messages; the profile's customer-service e-mail and contact phone the rest.
        const [m] = await db.select().from(merchants).where(eq(merchants.id, party.merchantId));
        if (!m) throw ApplicationFailure.nonRetryable(`merchant ${party.merchantId} not found`, 'MerchantNotFound');
        const sellers = await db.select({ id: principals.id }).from(principals).where(eq(principals.merchantId, m.id));
        const p = m.profile as { customerServiceEmail?: string; contactPhone?: string };
        return [{ email: p.customerServiceEmail, phone: p.contactPhone }, ...sellers.map((s) => ({ principalId: s.id }))];
      }
      case 'principal': {
        const [p] = await db.select().from(principals).where(eq(principals.id, party.principalId));
        if (!p) throw ApplicationFailure.nonRetryable(`principal ${party.principalId} not found`, 'PrincipalNotFound');
        return [{ principalId: p.id, email: p.email ?? undefined, phone: p.phone ?? undefined }];
      }
    }
  }

  /**
   * Sends one message over each channel the recipient has. Each (key, channel, address) is written
   * once; a retry skips what was already delivered and tries again only what failed.
   */
  async function deliver(dedupeKey: string, channel: Channel, r: Recipient, subject: string, body: string) {
    const address = channel === 'email' ? r.email : channel === 'sms' ? r.phone : undefined;
    const key = `${dedupeKey}:${channel}:${address ?? r.principalId}`;
    await db.insert(notifications).values({
      dedupeKey: key, channel, recipientPrincipalId: r.principalId ?? null, address: address ?? null, subject, body,
      status: channel === 'inapp' ? 'stored' : 'pending',
    }).onConflictDoNothing();
    if (channel === 'inapp') return 'stored';
    const [row] = await db.select().from(notifications).where(eq(notifications.dedupeKey, key));
    if (row && row.status !== 'pending') return row.status;
    // A crash between sending and this update resends once; the stable Message-ID lets mail clients fold the copy.
    const sent = channel === 'email'
      ? await transports.email(address!, subject, body, `<${key.replace(/[^A-Za-z0-9.-]/g, '.')}@marketplace.local>`)
      : await transports.sms(address!, `${subject}: ${body}`);
    await db.update(notifications).set({ status: sent ? 'sent' : 'outbox', sentAt: sent ? new Date() : null })
      .where(eq(notifications.dedupeKey, key));
    return sent ? 'sent' : 'outbox';
  }

  return {
    async notifyParty(a: { dedupeKey: string; party: Party; template: string; vars: Record<string, unknown> }) {
      const { subject, body } = renderTemplate(a.template, a.vars);
      const results: { channel: Channel; status: string }[] = [];
      for (const r of await recipients(a.party)) {
        const channels: Channel[] = [
          ...(r.email ? ['email' as const] : []), ...(r.phone ? ['sms' as const] : []), ...(r.principalId ? ['inapp' as const] : []),
        ];
        for (const channel of channels) results.push({ channel, status: await deliver(a.dedupeKey, channel, r, subject, body) });
      }
      return results;
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
