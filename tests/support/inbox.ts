import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Mail { to: string[]; raw: string; subject: string }
export interface Sms { to: string; text: string }

/**
 * A real SMTP server and a real SMS gateway on loopback that keep what they receive. They stand in
 * for the outside world only: the code under test talks to them over TCP as it would in production.
 */
export async function startInbox() {
  const mails: Mail[] = [];
  const sms: Sms[] = [];
  let smsFailures = 0;
  const smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        // Long headers arrive folded over several lines (RFC 5322 §2.2.3): unfold before reading the subject.
        const headers = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, subject: /^Subject: (.*)$/m.exec(headers)?.[1]?.trim() ?? '' });
        done();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const http: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (smsFailures > 0) { smsFailures--; res.writeHead(503).end(); return; }
      sms.push(JSON.parse(body) as Sms);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const smsPort = (http.address() as AddressInfo).port;

  return {
    mails, sms,
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    smsEndpoint: `http://127.0.0.1:${smsPort}/sms`,
    /** The next n SMS requests answer 503. */
    failNextSms(n: number) { smsFailures = n; },
    async close() {
      await new Promise<void>((r) => smtp.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
export type Inbox = Awaited<ReturnType<typeof startInbox>>;
