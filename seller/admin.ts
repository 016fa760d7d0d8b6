/**
 * Run-time fault switches of the reference seller for demos (`npm run seller:faults`, docs/demo.md):
 * `GET`, `PUT` and `DELETE /_admin/faults` on the seller's own port, allowed with its access key as a
 * bearer token. They set the same options object as the command line (seller/faults.ts), plus the
 * switches a demo needs: down for a while, result codes for the next calls, async mode.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { FAULT_FLAGS, type SellerFaults } from './faults';

export const ADMIN_PATH = '/_admin/faults';

/** What the admin endpoint needs of a running seller. */
export interface SellerControl {
  faults: SellerFaults;
  setFaults(f: SellerFaults): void;
  mode(): 'sync' | 'async';
  setMode(m: 'sync' | 'async'): void;
  /** The mode the seller started in: what DELETE and a PUT without `mode` return to. */
  startMode: 'sync' | 'async';
  now(): number;
}

const switches = Object.fromEntries(FAULT_FLAGS.filter((f) => !f.value).map((f) => [f.key, z.boolean().optional()]));

/** The body of PUT: every switch at once, what is not given is off. */
export const faultSettings = z.strictObject({
  mode: z.enum(['sync', 'async']).optional().describe('async: newInstance answers 000004 and the instance is ready a moment later'),
  downForSeconds: z.number().int().min(1).max(86_400).optional().describe('answer HTTP 503 to every call for this long'),
  resultCodes: z.array(z.string().regex(/^\d{6}$/, 'a six-digit result code')).max(100).optional().describe('newInstance answers these codes, one per call'),
  slowMs: z.number().int().min(1).max(120_000).optional().describe('wait this long before every answer'),
  instanceIdOverride: z.string().min(1).max(64).optional(),
  ...switches,
});
export type FaultSettings = z.infer<typeof faultSettings>;

/** The live switches as a demo reads them: remaining down time in seconds, the queued codes, the mode. */
export function describeSettings(c: SellerControl): Record<string, unknown> {
  const { downUntil, ...rest } = c.faults;
  const downFor = downUntil !== undefined ? Math.ceil((downUntil - c.now()) / 1000) : 0;
  return {
    mode: c.mode(),
    ...(downFor > 0 ? { downForSeconds: downFor, downUntil: new Date(downUntil!).toISOString() } : {}),
    ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0))),
  };
}

function apply(c: SellerControl, s: FaultSettings) {
  const { mode, downForSeconds, ...rest } = s;
  c.setFaults({ ...rest, ...(downForSeconds ? { downUntil: c.now() + downForSeconds * 1000 } : {}) } as SellerFaults);
  c.setMode(mode ?? c.startMode);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Serves one admin request; the caller has checked the path. */
export async function serveAdmin(req: IncomingMessage, res: ServerResponse, accessKey: string, c: SellerControl): Promise<void> {
  const reply = (status: number, body: unknown) => {
    const raw = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json;charset=utf-8', 'Content-Length': Buffer.byteLength(raw) }).end(raw);
  };
  const given = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!given || !timingSafeEqual(digest(given), digest(accessKey))) return reply(401, { error: 'send the seller access key as Authorization: Bearer <key>' });
  if (new URL(req.url ?? '/', 'http://seller.invalid').pathname !== ADMIN_PATH) return reply(404, { error: 'not found' });
  if (req.method === 'GET') return reply(200, describeSettings(c));
  if (req.method === 'DELETE') { apply(c, {}); return reply(200, describeSettings(c)); }
  if (req.method !== 'PUT') { res.setHeader('Allow', 'GET, PUT, DELETE'); return reply(405, { error: 'method not allowed' }); }
  let raw = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    raw += chunk.toString('utf8');
    if (raw.length > 16 * 1024) return reply(413, { error: 'body too large' });
  }
  let json: unknown;
  try { json = JSON.parse(raw || '{}'); } catch { return reply(400, { error: 'the body is not JSON' }); }
  const parsed = faultSettings.safeParse(json);
  if (!parsed.success) return reply(400, { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
  apply(c, parsed.data);
  return reply(200, describeSettings(c));
}
