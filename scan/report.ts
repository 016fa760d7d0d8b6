import type { ScanSummary } from '../workflows/image-asset-messages';
import type { Finding } from './rules';

/** The report's summary: counts by rule and severity; any blocking finding rejects the image. */
export function summarize(findings: Finding[], entries: number, clamav: boolean): ScanSummary {
  const byRule: Record<string, number> = {};
  const bySeverity: Record<string, number> = {};
  for (const f of findings) {
    byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
    bySeverity[f.severity] = (bySeverity[f.severity] ?? 0) + 1;
  }
  const blocking = findings.filter((f) => f.blocking).length;
  return { outcome: blocking > 0 ? 'rejected' : 'approved', findings: findings.length, blocking, byRule, bySeverity, entries, clamav };
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A readable HTML page of a report, for sellers who open it in a browser. Everything is escaped. */
export function reportHtml(r: { assetId: string; assetName: string; version: string; status: string; sha256: string; scannedAt: string | null; summary: ScanSummary | null; findings: Finding[] }): string {
  const rows = r.findings.map((f) => `<tr class="${f.blocking ? 'fail' : 'info'}"><td>${esc(f.rule)}</td><td>${esc(f.severity)}${f.blocking ? '' : ' (does not fail)'}</td><td><code>${esc(f.path)}</code></td><td><code>${esc(f.evidence)}</code></td></tr>`).join('\n');
  const counts = (o: Record<string, number> | undefined) => Object.entries(o ?? {}).map(([k, n]) => `${esc(k)}: ${n}`).join(', ') || 'none';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Security scan: ${esc(r.assetName)} ${esc(r.version)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}tr.fail td:first-child{border-left:4px solid #c00}.approved{color:#070}.rejected{color:#c00}code{word-break:break-all}</style></head>
<body><h1>Security scan of ${esc(r.assetName)} version ${esc(r.version)}</h1>
<p>Outcome: <strong class="${esc(r.status)}">${esc(r.status)}</strong> · asset ${esc(r.assetId)} · SHA-256 <code>${esc(r.sha256)}</code> · scanned ${esc(r.scannedAt ?? 'not yet')}</p>
<p>${r.summary ? `${r.summary.findings} findings (${r.summary.blocking} blocking) in ${r.summary.entries} files. By rule: ${counts(r.summary.byRule)}. By severity: ${counts(r.summary.bySeverity)}. ClamAV: ${r.summary.clamav ? 'scanned every file' : 'not configured (known-bad digests and EICAR only)'}.` : 'The scan has not finished.'}</p>
<table><thead><tr><th>Rule</th><th>Severity</th><th>Path</th><th>Evidence (masked)</th></tr></thead><tbody>
${rows || '<tr><td colspan="4">No findings: the image meets the security standard.</td></tr>'}
</tbody></table></body></html>
`;
}
