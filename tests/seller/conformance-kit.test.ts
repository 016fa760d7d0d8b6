/**
 * The conformance kit against the reference seller: it passes in sync and async modes, and each
 * fault switch makes exactly its own check fail and no other.
 */
import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKS, type CheckId, type CheckStatus, type ConformanceReport } from '../../conformance/checks';
import { exitCode, toJUnit, toTable } from '../../conformance/report';
import { runConformance, type KitOptions } from '../../conformance/run';
import { FAULT_FLAGS, type SellerFaults } from '../../seller/faults';
import { startReferenceSeller, type ReferenceSeller, type SellerOptions } from '../../seller/server';

const AK = 'kit-test-access-key-0123456789';
const BASE: KitOptions = { timeoutMs: 5000, pollWindowMs: 10_000, pollIntervalMs: 100, periodic: true };
const sellers: ReferenceSeller[] = [];
afterAll(async () => { await Promise.all(sellers.map((s) => s.close())); });

async function kitAgainst(o: Partial<SellerOptions> = {}, kit: Partial<KitOptions> = {}) {
  const seller = await startReferenceSeller({ accessKey: AK, port: 0, ...o });
  sellers.push(seller);
  const report = await runConformance({ url: seller.url, keyId: 'KEY-1', accessKey: AK }, { ...BASE, ...kit });
  return { seller, report };
}
const statuses = (r: ConformanceReport) => Object.fromEntries(r.checks.map((c) => [c.id, c.status])) as Record<CheckId, CheckStatus>;
const allPassedBut = (skipped: CheckId[]) => Object.fromEntries(CHECKS.map((c) => [c.id, skipped.includes(c.id) ? 'skipped' : 'passed']));

describe('the kit passes against the reference seller', () => {
  it('in sync mode, with every call marked testFlag=1 and every check reported with its evidence', async () => {
    const { seller, report } = await kitAgainst({ mode: 'sync' });
    expect(statuses(report)).toEqual(allPassedBut(['async-ready']));
    expect(report).toMatchObject({ passed: true, counts: { passed: CHECKS.length - 1, failed: 0, warning: 0, skipped: 1 }, keyId: 'KEY-1' });
    expect(exitCode(report)).toBe(0);
    expect(seller.received.length).toBeGreaterThan(15);
    expect(seller.received.every((c) => (c.body as { testFlag?: string }).testFlag === '1')).toBe(true);
    // The refused probes created nothing: only the four accepted lines have instances, and all the kit made were released.
    expect([...seller.instances().keys()].map((l) => l.slice(-6)).sort()).toEqual(['000001', '000002', '000003', '000008']);
    expect([...seller.instances().values()].every((i) => i.test && i.released)).toBe(true);
    // The instances' credentials, which queryInstance answered, are masked in the report.
    const passwords = [...seller.instances().values()].map((i) => i.appInfo.password);
    expect(JSON.stringify(report)).toContain('"password\\":\\"***\\"');
    for (const p of passwords) expect(JSON.stringify(report)).not.toContain(p);
    const tampered = report.checks.find((c) => c.id === 'tampered-body')!;
    expect(tampered.exchanges[0]!.reply.body).toContain('000001');
  });

  it('in async mode: 000004 instances become ready within the polling window', async () => {
    const { report } = await kitAgainst({ mode: 'async', asyncDelayMs: 300 });
    expect(statuses(report)).toEqual(allPassedBut([]));
    expect(report.checks.find((c) => c.id === 'async-ready')!.detail).toMatch(/^4 instance\(s\) ready after \d+ ms$/);
  });

  it('a one-time product skips refresh and status but still releases', async () => {
    const { report } = await kitAgainst({}, { periodic: false });
    expect(statuses(report)).toEqual(allPassedBut(['async-ready', 'refresh', 'freeze-unfreeze']));
  });
});

interface Expectation { faults: SellerFaults; own: Partial<Record<CheckId, CheckStatus>>; alsoSkipped?: CheckId[]; kit?: Partial<KitOptions> }

/** Every switch and the one check it must fail. A seller that checks no signature cannot tell a tampered body either: both are signature checks. */
const MATRIX: Record<string, Expectation> = {
  'accept-any-signature': { faults: { acceptAnySignature: true }, own: { 'forged-signature': 'failed', 'tampered-body': 'failed' } },
  'no-timestamp-check': { faults: { noTimestampCheck: true }, own: { 'stale-timestamp': 'failed' } },
  'no-nonce-check': { faults: { noNonceCheck: true }, own: { 'replayed-nonce': 'failed' } },
  'reserialized-signature': { faults: { reserializedSignature: true }, own: { 'raw-body-signature': 'failed' } },
  'new-instance-per-call': { faults: { newInstancePerCall: true }, own: { 'resend-same-instance': 'failed' } },
  'no-result-code': { faults: { noResultCode: true }, own: { 'new-instance': 'failed' } },
  'wrong-content-type': { faults: { wrongContentType: true }, own: { 'new-instance': 'failed' } },
  slow: { faults: { slowMs: 600 }, own: { timeout: 'failed' }, kit: { timeoutMs: 300, abandonAfterMs: 10_000 } },
  'no-body-sign': { faults: { noBodySign: true }, own: { 'body-sign': 'warning' } },
  'wrong-body-sign': { faults: { wrongBodySign: true }, own: { 'body-sign': 'failed' } },
  // Nothing becomes ready, so the queryInstance checks that need a ready instance cannot run.
  'async-never-ready': { faults: { asyncNeverReady: true }, own: { 'async-ready': 'failed' }, alsoSkipped: ['query-one', 'query-many'], kit: { pollWindowMs: 1000 } },
  'query-first-id-only': { faults: { queryFirstIdOnly: true }, own: { 'query-many': 'failed' } },
  'unknown-id-error': { faults: { unknownIdError: true }, own: { 'query-unknown': 'failed' } },
  'refresh-fails': { faults: { refreshFails: true }, own: { refresh: 'failed' } },
  'status-fails': { faults: { statusFails: true }, own: { 'freeze-unfreeze': 'failed' } },
  'release-once': { faults: { releaseOnce: true }, own: { 'release-repeated': 'failed' } },
};

describe('each fault switch makes exactly its own check fail and no other', () => {
  it('covers every switch of the reference seller', () => {
    expect(Object.keys(MATRIX).sort()).toEqual(FAULT_FLAGS.map((f) => f.flag).sort());
    for (const f of FAULT_FLAGS) expect(Object.keys(MATRIX[f.flag]!.faults)).toEqual([f.key]);
  });

  it.concurrent.each(Object.entries(MATRIX))('--%s', async (_, e) => {
    const { report } = await kitAgainst({ faults: e.faults }, e.kit);
    // In sync mode async-ready is skipped (nothing answered 000004) unless the switch is about it.
    const expected = { ...allPassedBut(['async-ready', ...(e.alsoSkipped ?? [])]), ...e.own };
    expect(statuses(report)).toEqual(expected);
    expect(report.passed).toBe(Object.values(e.own).includes('failed') ? false : true);
    for (const id of Object.keys(e.own) as CheckId[]) {
      const c = report.checks.find((x) => x.id === id)!;
      expect(c.exchanges.length, `${id} shows the calls that prove it`).toBeGreaterThan(0);
    }
  });
});

describe('reports', () => {
  it('a failing run: exit code 1, the table shows why, and JUnit XML that a CI parses', async () => {
    const { report } = await kitAgainst({ faults: { noNonceCheck: true, wrongBodySign: true } });
    expect(exitCode(report)).toBe(1);
    const table = toTable(report);
    expect(table).toContain('FAIL │ replayed-nonce');
    expect(table).toMatch(/FAIL replayed-nonce: .*\n {2}NOT refused: HTTP 200, resultCode 000000/);
    expect(table).toContain('the same call again: same nonce, same signature');
    expect(table).toContain('15 passed, 2 failed, 0 warnings, 1 skipped: FAILED');

    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(toJUnit(report)) as {
      testsuites: { tests: string; failures: string; skipped: string; testsuite: { testcase: { name: string; failure?: { type: string; message: string; '#text': string }; skipped?: unknown }[] } };
    };
    expect(xml.testsuites).toMatchObject({ tests: String(CHECKS.length), failures: '2', skipped: '1' });
    const cases = xml.testsuites.testsuite.testcase;
    expect(cases).toHaveLength(CHECKS.length);
    expect(cases.filter((c) => c.failure).map((c) => c.failure!.type)).toEqual(['replayed-nonce', 'body-sign']);
    expect(cases.find((c) => c.failure?.type === 'replayed-nonce')!.failure!['#text']).toContain('-> POST http://127.0.0.1:');
  });

  it('a seller that is not there: every check fails or is skipped, nothing throws', async () => {
    const seller = await startReferenceSeller({ accessKey: AK, port: 0 });
    const url = seller.url;
    await seller.close();
    const report = await runConformance({ url, keyId: 'K', accessKey: AK }, { ...BASE, timeoutMs: 1000 });
    expect(report.passed).toBe(false);
    expect(statuses(report)).toMatchObject({ 'new-instance': 'failed', timeout: 'failed', 'resend-same-instance': 'skipped', 'raw-body-signature': 'failed', release: 'skipped' });
    expect(report.checks.find((c) => c.id === 'new-instance')!.detail).toMatch(/ECONNREFUSED/);
  });
});
