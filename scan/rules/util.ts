import type { FileScan, Finding } from './types';

/** Shows the start of a secret and its length, never the secret: `AKIA…(20 chars)`. */
export function mask(secret: string, show = 4): string {
  const s = secret.trim();
  if (s.length <= show * 2) return `…(${s.length} chars)`;
  return `${s.slice(0, show)}…(${s.length} chars)`;
}

/** A FileScan that collects a small text file whole (up to `max` bytes; larger files are skipped). */
export function wholeFile(max: number, done: (text: string) => Finding[] | Promise<Finding[]>): FileScan {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    write(chunk) {
      size += chunk.length;
      if (size <= max) chunks.push(Buffer.from(chunk));
    },
    end: () => (size <= max ? done(Buffer.concat(chunks).toString('utf8')) : []),
  };
}

/**
 * Finds a byte string in a stream of chunks, including across chunk boundaries, and hands back
 * `before` bytes of context ahead of each match and `after` bytes following it (within limits).
 */
export class StreamSearch {
  private tail = Buffer.alloc(0);
  private pendingAfter: { head: Buffer; need: number; got: Buffer[] }[] = [];
  readonly hits: { before: Buffer; match: Buffer; after: Buffer }[] = [];
  constructor(private readonly needle: Buffer, private readonly before = 0, private readonly after = 0, private readonly maxHits = 1) {}

  write(chunk: Buffer) {
    for (const p of this.pendingAfter) p.got.push(chunk.subarray(0, p.need - p.got.reduce((n, b) => n + b.length, 0)));
    this.flushAfter(false);
    if (this.hits.length + this.pendingAfter.length >= this.maxHits) return;
    const keep = this.needle.length - 1 + this.before;
    const buf = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    let from = 0;
    for (;;) {
      const at = buf.indexOf(this.needle, from);
      if (at === -1 || this.hits.length + this.pendingAfter.length >= this.maxHits) break;
      const head = Buffer.from(buf.subarray(Math.max(0, at - this.before), at + this.needle.length));
      const rest = buf.subarray(at + this.needle.length, at + this.needle.length + this.after);
      this.pendingAfter.push({ head, need: this.after, got: [Buffer.from(rest)] });
      from = at + this.needle.length;
    }
    this.flushAfter(false);
    this.tail = Buffer.from(buf.subarray(Math.max(0, buf.length - keep)));
  }

  end() { this.flushAfter(true); }

  private flushAfter(force: boolean) {
    this.pendingAfter = this.pendingAfter.filter((p) => {
      const after = Buffer.concat(p.got);
      if (!force && after.length < p.need) return true;
      this.hits.push({ before: p.head.subarray(0, p.head.length - this.needle.length), match: p.head.subarray(p.head.length - this.needle.length), after });
      return false;
    });
  }
}

/** Regular files only: rules look at content, not at devices, links or directories. */
export const isFile = (e: { type: string }) => e.type === 'file';
/** The user a home-directory path belongs to: `/root/...` → root, `/home/alice/...` → alice. */
export function homeOwner(path: string): string | null {
  if (path.startsWith('/root/')) return 'root';
  const m = /^\/home\/([^/]+)\//.exec(path);
  return m ? m[1]! : null;
}
