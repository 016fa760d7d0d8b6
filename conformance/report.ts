/** The kit's report three ways: a readable table, JUnit XML for a seller's CI, and an exit code (the JSON is the report itself). */
import Table from 'cli-table3';
import { XMLBuilder } from 'fast-xml-parser';
import type { CheckResult, CheckStatus, ConformanceReport, Exchange } from './checks';

const WORD: Record<CheckStatus, string> = { passed: 'PASS', failed: 'FAIL', warning: 'WARN', skipped: 'SKIP' };

/** Control characters a seller may send back have no place in a terminal or in XML 1.0. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const printable = (s: string) => s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '?');

/** One exchange as a seller reads it: the request sent and the reply received. */
export function describeExchange(e: Exchange): string {
  const r = e.reply;
  const head = r.error
    ? `<- ${r.error} (${r.latencyMs} ms)`
    : `<- HTTP ${r.httpStatus}, Content-Type ${r.contentType ?? '(none)'}, Body-Sign ${r.bodySign ? 'present' : 'absent'}, ${r.latencyMs} ms`;
  return printable([`${e.label}`, `-> POST ${e.request.url}`, `   ${e.request.body}`, head, ...(r.body !== undefined ? [`   ${r.body}`] : [])].join('\n'));
}

export const summaryLine = (r: ConformanceReport) =>
  `${r.counts.passed} passed, ${r.counts.failed} failed, ${r.counts.warning} warnings, ${r.counts.skipped} skipped: ${r.passed ? 'PASSED' : 'FAILED'}`;

export function toTable(r: ConformanceReport, width = 110): string {
  const detailWidth = Math.max(30, width - 36);
  const table = new Table({ head: ['', 'check', 'result'], colWidths: [6, 26, detailWidth], wordWrap: true, style: { head: [], border: [] } });
  for (const c of r.checks) table.push([WORD[c.status], c.id, printable(c.detail)]);
  const why = r.checks.filter((c) => c.status === 'failed' || c.status === 'warning').map(explain);
  return [
    `Seller conformance run ${r.runId} against ${r.url} (key id ${r.keyId}), timeout ${r.options.timeoutMs} ms`,
    table.toString(),
    summaryLine(r),
    ...why,
  ].join('\n');
}

const explain = (c: CheckResult) =>
  [`\n${WORD[c.status]} ${c.id}: ${c.title}`, `  ${printable(c.detail)}`, ...c.exchanges.map((e) => describeExchange(e).replace(/^/gm, '    '))].join('\n');

export function toJUnit(r: ConformanceReport): string {
  const seconds = ((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(3);
  const testcase = (c: CheckResult) => {
    const evidence = c.exchanges.map(describeExchange).join('\n\n');
    const tc: Record<string, unknown> = { '@_classname': 'seller-conformance', '@_name': `${c.id}: ${c.title}` };
    if (c.status === 'failed') tc.failure = { '@_type': c.id, '@_message': printable(c.detail), '#text': evidence };
    if (c.status === 'skipped') tc.skipped = { '@_message': printable(c.detail) };
    if (c.status === 'warning' || c.status === 'passed') tc['system-out'] = `${c.status === 'warning' ? 'WARNING: ' : ''}${printable(c.detail)}${evidence ? `\n\n${evidence}` : ''}`;
    return tc;
  };
  const counts = { '@_tests': r.checks.length, '@_failures': r.counts.failed, '@_errors': 0, '@_skipped': r.counts.skipped, '@_time': seconds };
  const doc = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    testsuites: {
      '@_name': 'seller-conformance', ...counts,
      testsuite: { '@_name': `seller-conformance ${r.url}`, '@_timestamp': r.startedAt, ...counts, testcase: r.checks.map(testcase) },
    },
  };
  return new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true }).build(doc) as string;
}

/** 0 when nothing failed (warnings and skipped checks allowed), 1 otherwise; usage errors are 2 (the command's). */
export const exitCode = (r: ConformanceReport) => (r.passed ? 0 : 1);
