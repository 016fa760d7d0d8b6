/**
 * The seller conformance kit: drives a seller's production interface through the V2 activities
 * with real signatures, plus deliberately broken calls, and judges each check (conformance/checks.ts).
 * Every call carries testFlag=1, so a seller can tell it from a real order; nothing is charged.
 */
import { randomBytes } from 'node:crypto';
import { newNonce, signPayload, signRequest, verifyBodySign, type SignedRequest } from '../domain/saas-signing';
import { maskSecretsInText } from '../seller-client/mask';
import { sendSigned } from '../seller-client/client';
import { CHECKS, titleOf, type CheckId, type CheckResult, type CheckStatus, type ConformanceReport, type Exchange } from './checks';

/** How one prepared request goes out: the one seller client's low-level send, unless a test swaps it. */
export type Transport = typeof sendSigned;

export interface KitTarget { url: string; keyId: string; accessKey: string }

export interface KitOptions {
  /** The marketplace's call timeout: a slower answer fails the `timeout` check (spec §1.1: 5 s). */
  timeoutMs: number;
  /** How long the kit waits for an answer at all, so a slow seller is still judged on content (default 3 × timeoutMs, at least timeoutMs + 10 s). */
  abandonAfterMs?: number;
  /** How long and how often an instance answered with 000004 is polled with queryInstance. */
  pollWindowMs: number;
  pollIntervalMs: number;
  /** Yearly/monthly products also get refreshInstance and updateInstanceStatus. */
  periodic: boolean;
  /** Told before every call (activities heartbeat with it). */
  onProgress?: (label: string) => void;
  transport?: Transport;
  runId?: string;
}

const SUCCESS = new Set(['000000', '000004']);
/** Result codes of the spec's list (§1.6), License-only codes included. */
export const SPEC_RESULT_CODES = new Set([
  '000000', '000001', '000002', '000003', '000004', '000005',
  '000100', '000101', '000102', '000103', '000104', '000105', '000106', '000107',
  '000900', '000901', '000902', '000903',
]);
const STALE_BY_MS = 5 * 60_000;
const MAX_SHOWN_BODY = 4096;

type Json = Record<string, unknown>;
/** A call as the kit judges it; `raw` is the reply body unmasked, for Body-Sign only. */
interface Sent { ex: Exchange; raw?: string; json?: Json; code?: string; instanceId?: string; businessId?: string }

const parse = (body?: string): Json | undefined => {
  try {
    const v: unknown = body === undefined ? undefined : JSON.parse(body);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
};
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The kit took it as provisioned: HTTP 200, an instanceId, and no result code other than 000000/000004. */
const accepted = (s: Sent) => s.ex.reply.httpStatus === 200 && !!s.instanceId && (s.code === undefined || SUCCESS.has(s.code));
/** An answer that says no: an HTTP error, or a JSON result code other than 000000/000004. */
const refused = (s: Sent) => s.ex.reply.httpStatus !== undefined && !accepted(s) && (s.ex.reply.httpStatus !== 200 || (s.code !== undefined && !SUCCESS.has(s.code)));
const answerOf = (s: Sent) => s.ex.reply.error ?? `HTTP ${s.ex.reply.httpStatus}${s.code ? `, resultCode ${s.code}` : ', no resultCode'}${str(s.json?.resultMsg) ? ` (${str(s.json?.resultMsg)})` : ''}`;

/** UTC yyyyMMddHHmmss, as refreshInstance's expireTime. */
const utcStamp = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);

/** The same fields in another valid JSON layout: keys in reverse order, spaces, '-' written as \u002d. */
function otherLayout(body: Record<string, string>): string {
  const entries = Object.entries(body).sort(([a], [b]) => (a < b ? 1 : -1));
  return `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v).replace(/-/g, '\\u002d')}`).join(', ')} }`;
}

export async function runConformance(target: KitTarget, o: KitOptions): Promise<ConformanceReport> {
  const startedAt = new Date();
  const transport = o.transport ?? sendSigned;
  const abandonAfter = o.abandonAfterMs ?? Math.max(3 * o.timeoutMs, o.timeoutMs + 10_000);
  const runId = o.runId ?? randomBytes(6).toString('hex').toUpperCase();
  const order = `KIT${runId}`;
  const line = (n: number) => `${order}-${String(n).padStart(6, '0')}`;
  let seq = 0;
  const businessId = () => `KB${runId}${String(++seq).padStart(3, '0')}`;
  const all: Sent[] = [];
  const results = new Map<CheckId, CheckResult>();

  const judge = (id: CheckId, status: CheckStatus, detail: string, sent: (Sent | undefined)[] = []) =>
    results.set(id, { id, title: titleOf(id), status, detail, exchanges: sent.filter((s): s is Sent => !!s).map((s) => s.ex) });

  async function send(label: string, req: { payload: string; query: Partial<SignedRequest['query']> }): Promise<Sent> {
    o.onProgress?.(label);
    const { fault, body, ...reply } = await transport(target.url, req, abandonAfter);
    const shownUrl = new URL(target.url);
    for (const [k, v] of Object.entries(req.query)) if (v !== undefined) shownUrl.searchParams.set(k, v);
    // Credentials in replies (a ready instance's userName and password) are masked in everything the report shows.
    const shown = body === undefined ? {} : { body: maskSecretsInText(body.slice(0, MAX_SHOWN_BODY)) };
    const ex: Exchange = { label, request: { url: shownUrl.toString(), body: req.payload }, reply: { ...reply, ...shown, ...(fault ? { error: fault.message } : {}) } };
    const json = parse(body);
    const s: Sent = { ex, raw: body, json, code: str(json?.resultCode), instanceId: str(json?.instanceId), businessId: str(parse(req.payload)?.businessId) };
    all.push(s);
    return s;
  }
  const signed = (body: Record<string, string>, at = Date.now()) => signRequest(target.accessKey, { ...body, testFlag: '1' }, at);
  const call = (label: string, body: Record<string, string>) => send(label, signed(body));
  const newInstance = (n: number, bid = businessId()) => ({ activity: 'newInstance', orderId: order, orderLineId: line(n), businessId: bid });

  // 1. Provisioning and its idempotency.
  const first = await call('newInstance, order line 1', newInstance(1));
  const resend = await call('newInstance, order line 1 again (new businessId, new nonce)', newInstance(1));
  const second = await call('newInstance, order line 2', newInstance(2));
  judgeNewInstance(first);
  if (!accepted(first)) {
    judge('resend-same-instance', 'skipped', 'newInstance did not provision the first line', [first]);
    judge('new-line-new-instance', 'skipped', 'newInstance did not provision the first line', [first]);
  } else {
    judge('resend-same-instance', accepted(resend) && resend.instanceId === first.instanceId ? 'passed' : 'failed',
      accepted(resend) ? `first ${first.instanceId}, resend ${resend.instanceId}` : `the resend was not provisioned: ${answerOf(resend)}`, [first, resend]);
    judge('new-line-new-instance', accepted(second) && second.instanceId !== first.instanceId ? 'passed' : 'failed',
      accepted(second) ? `line 1 ${first.instanceId}, line 2 ${second.instanceId}` : `line 2 was not provisioned: ${answerOf(second)}`, [first, second]);
  }

  // 2. Calls that must be refused. The replay resends line 2's call byte for byte, right away.
  const lastSigned = signed(newInstance(3));
  const replayOf = await send('newInstance, order line 3', lastSigned);
  const replay = await send('the same call again: same nonce, same signature', lastSigned);
  const wrongKey = signRequest(`${target.accessKey}-forged`, { ...newInstance(4), testFlag: '1' }, Date.now());
  const forged = await send('newInstance, order line 4, signed with another key', wrongKey);
  const unsigned = signed(newInstance(4));
  const noSignature = await send('newInstance, order line 4, without a signature', { payload: unsigned.payload, query: { timestamp: unsigned.query.timestamp, nonce: unsigned.query.nonce } });
  const stale = await send('newInstance, order line 5, timestamp 5 minutes old', signed(newInstance(5), Date.now() - STALE_BY_MS));
  const before = signed(newInstance(6));
  const tampered = await send('newInstance signed for order line 6, sent for order line 7', { ...before, payload: before.payload.replace(line(6), line(7)) });
  const rawBody = await send('newInstance, order line 8, in another JSON layout, signed as sent',
    signPayload(target.accessKey, otherLayout({ ...newInstance(8), testFlag: '1' }), Date.now(), newNonce()));
  judge('raw-body-signature', accepted(rawBody) ? 'passed' : 'failed', accepted(rawBody)
    ? 'accepted'
    : `refused: ${answerOf(rawBody)}. The signature covers the bytes sent; a seller that hashes its own re-serialization of the parsed body breaks whenever serializers differ (key order, escapes, spaces)`, [rawBody]);

  // 3. Instances answered 000004 must become ready within the polling window.
  const provisioned = [first, second, replayOf, rawBody].filter(accepted);
  const ids = [...new Set(provisioned.map((s) => s.instanceId!))];
  const pending = [...new Set(provisioned.filter((s) => s.code === '000004').map((s) => s.instanceId!))];
  const notReady = await waitReady(pending);

  // 4. None of the refused calls may have created an instance (asked by their businessIds, which the spec recommends as instance ids).
  const leakIds = [forged, noSignature, stale, tampered].flatMap((s) => [s.businessId, s.instanceId]).filter((x): x is string => !!x);
  const leak = await call('queryInstance for the ids the refused calls would have created', { activity: 'queryInstance', instanceId: [...new Set(leakIds)].join(',') });
  const leaked = new Set(listed(leak));
  judgeRefusal('forged-signature', [forged, noSignature]);
  judgeRefusal('stale-timestamp', [stale]);
  judgeRefusal('tampered-body', [tampered]);
  if (!accepted(replayOf)) judge('replayed-nonce', 'skipped', `the call to replay was not provisioned: ${answerOf(replayOf)}`, [replayOf]);
  else judge('replayed-nonce', refused(replay) ? 'passed' : 'failed', `${refused(replay) ? 'refused' : 'NOT refused'}: ${answerOf(replay)}`, [replayOf, replay]);

  // 5. queryInstance.
  const ready = ids.filter((id) => !notReady.has(id));
  const blocked = `not ready within the polling window (see async-ready)`;
  if (!accepted(first)) judge('query-one', 'skipped', 'newInstance did not provision the first line', [first]);
  else if (notReady.has(first.instanceId!)) judge('query-one', 'skipped', `${first.instanceId} ${blocked}`);
  else {
    const one = await call('queryInstance, one id', { activity: 'queryInstance', instanceId: first.instanceId! });
    const info = infoOf(one).find((i) => i.instanceId === first.instanceId);
    judge('query-one', one.ex.reply.httpStatus === 200 && one.code === '000000' && info ? 'passed' : 'failed',
      info ? (info.appInfo ? 'answered with appInfo' : 'answered without appInfo (allowed only when credentials go by SMS or e-mail)') : `${first.instanceId} not answered: ${answerOf(one)}`, [one]);
  }
  if (ready.length < 2) judge('query-many', 'skipped', `needs two ready instances, has ${ready.length}`);
  else {
    const many = await call(`queryInstance, ${ready.length} ids in one call`, { activity: 'queryInstance', instanceId: ready.join(',') });
    const missing = ready.filter((id) => !listed(many).includes(id));
    judge('query-many', many.ex.reply.httpStatus === 200 && many.code === '000000' && missing.length === 0 ? 'passed' : 'failed',
      missing.length === 0 ? `all ${ready.length} answered` : `not answered: ${missing.join(', ')} (${answerOf(many)})`, [many]);
  }
  const unknownId = `KITUNKNOWN${runId}`;
  const unknown = await call('queryInstance, an id that does not exist', { activity: 'queryInstance', instanceId: unknownId });
  const handled = unknown.ex.reply.httpStatus === 200 && ((unknown.code === '000000' && !listed(unknown).includes(unknownId)) || unknown.code === '000003');
  judge('query-unknown', handled ? 'passed' : 'failed', handled ? `answered ${unknown.code}` : `not handled: ${answerOf(unknown)}`, [unknown]);

  // 6. The rest of an instance's life, on line 1's instance; the kit then releases what else it created.
  const subject = accepted(first) ? first.instanceId! : undefined;
  const lifecycle = async (label: string, body: Record<string, string>) => {
    const s = await call(label, body);
    return { s, ok: s.ex.reply.httpStatus === 200 && s.code === '000000' };
  };
  if (!o.periodic) {
    judge('refresh', 'skipped', 'not a yearly/monthly product');
    judge('freeze-unfreeze', 'skipped', 'not a yearly/monthly product');
  } else if (!subject) {
    judge('refresh', 'skipped', 'newInstance did not provision the first line');
    judge('freeze-unfreeze', 'skipped', 'newInstance did not provision the first line');
  } else {
    const r = await lifecycle('refreshInstance RENEWAL', {
      activity: 'refreshInstance', scene: 'RENEWAL', instanceId: subject, orderId: `${order}R`, orderLineId: `${order}R-000001`, expireTime: utcStamp(Date.now() + 365 * 86_400_000),
    });
    judge('refresh', r.ok ? 'passed' : 'failed', answerOf(r.s), [r.s]);
    const f = await lifecycle('updateInstanceStatus FREEZE', { activity: 'updateInstanceStatus', instanceId: subject, status: 'FREEZE' });
    const u = await lifecycle('updateInstanceStatus UNFREEZE', { activity: 'updateInstanceStatus', instanceId: subject, status: 'UNFREEZE' });
    judge('freeze-unfreeze', f.ok && u.ok ? 'passed' : 'failed', `FREEZE: ${answerOf(f.s)}; UNFREEZE: ${answerOf(u.s)}`, [f.s, u.s]);
  }
  if (!subject) {
    judge('release', 'skipped', 'newInstance did not provision the first line');
    judge('release-repeated', 'skipped', 'newInstance did not provision the first line');
  } else {
    const r1 = await lifecycle('releaseInstance', { activity: 'releaseInstance', instanceId: subject });
    const r2 = await lifecycle('releaseInstance again', { activity: 'releaseInstance', instanceId: subject });
    judge('release', r1.ok ? 'passed' : 'failed', answerOf(r1.s), [r1.s]);
    if (!r1.ok) judge('release-repeated', 'skipped', 'the first release failed', [r2.s]);
    else judge('release-repeated', r2.ok ? 'passed' : 'failed', answerOf(r2.s), [r1.s, r2.s]);
  }
  for (const id of ids.filter((x) => x !== subject)) await call(`releaseInstance ${id} (clean-up, not judged)`, { activity: 'releaseInstance', instanceId: id });

  judgeTimeout();
  judgeBodySign();

  const checks = CHECKS.map((c) => results.get(c.id)!);
  const counts: Record<CheckStatus, number> = { passed: 0, failed: 0, warning: 0, skipped: 0 };
  for (const c of checks) counts[c.status]++;
  return {
    kit: 'koogallery-seller-conformance/1', runId, url: target.url, keyId: target.keyId,
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(),
    options: { timeoutMs: o.timeoutMs, pollWindowMs: o.pollWindowMs, periodic: o.periodic },
    passed: counts.failed === 0, counts, checks,
  };

  function judgeNewInstance(s: Sent) {
    const r = s.ex.reply;
    const problems: string[] = [];
    if (r.error) problems.push(r.error);
    else {
      if (r.httpStatus !== 200) problems.push(`HTTP ${r.httpStatus}, not 200`);
      if (!/^application\/json\b/i.test(r.contentType ?? '')) problems.push(`Content-Type is ${r.contentType ?? 'missing'}, not application/json`);
      if (!s.json) problems.push('the body is not a JSON object');
      else {
        if (s.code === undefined) problems.push('no resultCode');
        else if (!SPEC_RESULT_CODES.has(s.code)) problems.push(`resultCode ${s.code} is not in the spec's list`);
        else if (!SUCCESS.has(s.code)) problems.push(`resultCode ${s.code}: the line was not provisioned${str(s.json.resultMsg) ? ` (${str(s.json.resultMsg)})` : ''}`);
        if (typeof s.json.resultMsg !== 'string') problems.push('no resultMsg');
        if (!s.instanceId) problems.push('no instanceId');
        else if (s.instanceId.length > 64) problems.push('instanceId longer than 64 characters');
      }
    }
    judge('new-instance', problems.length ? 'failed' : 'passed', problems.length ? problems.join('; ') : `resultCode ${s.code}, instanceId ${s.instanceId}`, [s]);
  }

  function judgeRefusal(id: CheckId, probes: Sent[]) {
    const bad = probes.filter((p) => !refused(p));
    const created = probes.filter((p) => [p.businessId, p.instanceId].some((x) => x && leaked.has(x)));
    const detail = probes.map((p) => `${p.ex.label}: ${refused(p) ? 'refused' : 'NOT refused'} (${answerOf(p)})`).join('; ');
    const unusual = probes.some((p) => refused(p) && p.code !== undefined && p.code !== '000001') ? '; 000001 is the code for a failed authentication' : '';
    judge(id, bad.length || created.length ? 'failed' : 'passed', `${detail}${created.length ? `; queryInstance lists an instance it created: ${created.map((p) => p.businessId).join(', ')}` : ''}${unusual}`, [...probes, leak]);
  }

  async function waitReady(waiting: string[]): Promise<Set<string>> {
    if (waiting.length === 0) {
      judge('async-ready', 'skipped', provisioned.length ? 'the seller provisioned synchronously (000000)' : 'nothing was provisioned');
      return new Set();
    }
    const left = new Set(waiting);
    const evidence = new Map<string, Sent[]>();
    const deadline = Date.now() + o.pollWindowMs;
    const started = Date.now();
    for (;;) {
      for (const id of [...left]) {
        const q = await call(`queryInstance ${id} (polling)`, { activity: 'queryInstance', instanceId: id });
        evidence.set(id, [...(evidence.get(id) ?? []).slice(0, 1), q]);
        if (q.code === '000000' && listed(q).includes(id)) left.delete(id);
      }
      if (left.size === 0 || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(o.pollIntervalMs, Math.max(0, deadline - Date.now()))));
    }
    const shown = [...evidence.values()].flat();
    judge('async-ready', left.size ? 'failed' : 'passed', left.size
      ? `not ready after ${Math.round(o.pollWindowMs / 1000)} s: ${[...left].join(', ')}`
      : `${waiting.length} instance(s) ready after ${Date.now() - started} ms`, shown);
    return left;
  }

  function judgeTimeout() {
    const late = all.filter((s) => s.ex.reply.error || s.ex.reply.latencyMs > o.timeoutMs);
    const slowest = all.reduce((a, b) => (b.ex.reply.latencyMs > a.ex.reply.latencyMs ? b : a), all[0]!);
    judge('timeout', late.length ? 'failed' : 'passed', late.length
      ? `${late.length} of ${all.length} calls took longer than ${o.timeoutMs} ms or got no answer (the marketplace gives up and retries)`
      : `${all.length} calls, slowest ${slowest.ex.reply.latencyMs} ms (${slowest.ex.label})`, late.slice(0, 5));
  }

  function judgeBodySign() {
    const answered = all.filter((s) => s.ex.reply.httpStatus !== undefined && s.raw !== undefined);
    const wrong = answered.filter((s) => s.ex.reply.bodySign && !verifyBodySign(target.accessKey, s.raw!, s.ex.reply.bodySign));
    const missing = answered.filter((s) => !s.ex.reply.bodySign);
    if (wrong.length) judge('body-sign', 'failed', `${wrong.length} of ${answered.length} replies carry a Body-Sign that does not match the body (the marketplace treats such a reply as failed)`, wrong.slice(0, 3));
    else if (missing.length) judge('body-sign', 'warning', `${missing.length} of ${answered.length} replies carry no Body-Sign; V2 allows it, but a signed reply proves it is yours`, missing.slice(0, 1));
    else judge('body-sign', 'passed', `all ${answered.length} replies signed and verified`);
  }
}

function infoOf(s: Sent): { instanceId?: string; appInfo?: unknown }[] {
  const info = s.json?.info;
  return Array.isArray(info) ? info.filter((i): i is Json => !!i && typeof i === 'object').map((i) => ({ instanceId: str(i.instanceId), appInfo: i.appInfo })) : [];
}
const listed = (s: Sent) => infoOf(s).map((i) => i.instanceId).filter((x): x is string => !!x);
