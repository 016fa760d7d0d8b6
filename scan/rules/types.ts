import type { TarEntry } from '../tar-reader';

export type RuleId =
  | 'malware' | 'preset-password' | 'authorized-keys' | 'private-key' | 'cloud-credentials'
  | 'shell-history-secret' | 'vulnerable-package' | 'weak-password-policy';
export type Severity = 'critical' | 'high' | 'medium' | 'low';

/** One finding of the report. `evidence` is masked: it shows what was found without handing the secret on. */
export interface Finding {
  rule: RuleId;
  path: string;
  severity: Severity;
  evidence: string;
  /** A blocking finding rejects the asset (every finding but a vulnerability scored under 7.0). */
  blocking: boolean;
}

/** What the scan knows from outside the archive. */
export interface ScanContext {
  /** Operator-managed SHA-256 digests of known-bad files, lower-case hex, with a name for each. */
  malwareDigests: Map<string, string>;
  /** ClamAV, when configured: scans one file's bytes streamed to it. */
  clamav: ClamavClient | null;
  /** Vulnerabilities of the offline feed that name any of these packages in these ecosystems. */
  vulnerabilities(query: { ecosystem: string; names: string[] }): Promise<OsvRecord[]>;
}

export interface ClamavClient {
  /** One file: write its bytes, then `end()` gives the signature name that matched, or null. */
  open(): { write(chunk: Buffer): void; end(): Promise<string | null>; abort(): void };
  /** Resolves when the client's buffers have room again (back-pressure for the reader). */
  drain(): Promise<void>;
}

/** The subset of the OSV schema (ossf.github.io/osv-schema) the vulnerable-package rule reads. */
export interface OsvRecord {
  id: string;
  summary?: string;
  aliases?: string[];
  severity?: { type: string; score: string }[];
  affected?: {
    package?: { ecosystem: string; name: string };
    ranges?: { type: string; events: { introduced?: string; fixed?: string; last_affected?: string; limit?: string }[] }[];
    versions?: string[];
    severity?: { type: string; score: string }[];
  }[];
}

/** What a rule does with one file's content, chunk by chunk; `end` gives its findings. */
export interface FileScan {
  write(chunk: Buffer): void;
  end(): Finding[] | Promise<Finding[]>;
  abort?(): void;
}

/**
 * A scan rule. `open` is called for every entry and returns a FileScan for the files it wants. Its state
 * carries what it learns across files (packages, PAM settings) and must be plain JSON: it is saved in
 * checkpoints and restored when a scan resumes.
 */
export interface Rule<S = unknown> {
  id: RuleId;
  init(): S;
  open(entry: TarEntry, state: S, ctx: ScanContext): FileScan | null;
  /** After the last file: findings that need the whole image (packages against the feed, policy). */
  finish?(state: S, ctx: ScanContext): Promise<Finding[]> | Finding[];
}
