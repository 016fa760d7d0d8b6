/**
 * A push parser of tar archives (ustar, GNU and pax) that knows the exact byte offset of every entry.
 * The scan needs those offsets to checkpoint at an entry boundary and resume there; a general tar
 * library hides them behind its buffering. It never buffers file data: content passes through in the
 * chunks it arrives in. Extension records (pax, GNU long names) are held, up to 1 MiB.
 */
export interface TarEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
  mode: number;
  size: number;
  linkname: string | null;
  /** Offset of the entry's first header (its extension records included) in the tar stream. */
  offset: number;
}

export interface TarHandler {
  entry(e: TarEntry): void;
  data(chunk: Buffer): void;
  entryEnd(e: TarEntry): void;
  /** At each offset where a new entry may begin with nothing pending: a safe place to checkpoint and resume. */
  boundary?(offset: number): void;
}

export class TarFormatError extends Error {
  override readonly name = 'TarFormatError';
}

const BLOCK = 512;
const MAX_EXTENSION = 1024 * 1024;

const str = (b: Buffer, off: number, len: number) => {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
};
function octal(b: Buffer, off: number, len: number): number {
  // GNU base-256 for sizes of 8 GiB and more: high bit of the first byte set.
  if (b[off]! & 0x80) {
    let v = b[off]! & 0x7f;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = str(b, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`not a tar archive: bad number field ${JSON.stringify(s.slice(0, 20))}`);
  return parseInt(s, 8);
}
function checksumOk(h: Buffer): boolean {
  let unsigned = 0;
  for (let i = 0; i < BLOCK; i++) unsigned += i >= 148 && i < 156 ? 32 : h[i]!;
  return octal(h, 148, 8) === unsigned;
}
function parsePax(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(32, i);
    if (sp === -1) break;
    const len = Number(buf.toString('ascii', i, sp));
    if (!Number.isInteger(len) || len <= 0 || i + len > buf.length) throw new TarFormatError('not a tar archive: bad pax record');
    const rec = buf.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

type State = 'header' | 'data' | 'padding' | 'extension' | 'end';

export class TarReader {
  /** Bytes of the tar stream consumed so far (including `startOffset`). */
  offset: number;
  entries = 0;
  private state: State = 'header';
  private head = Buffer.alloc(BLOCK);
  private headFill = 0;
  private remaining = 0;
  private padding = 0;
  private current: TarEntry | null = null;
  private ext: { kind: 'pax' | 'gnu-path' | 'gnu-link' | 'skip'; chunks: Buffer[]; got: number } | null = null;
  private pax: Record<string, string> = {};
  private gnuPath: string | null = null;
  private gnuLink: string | null = null;
  private entryStart: number | null = null;
  private zeroBlocks = 0;

  constructor(private readonly h: TarHandler, startOffset = 0) {
    this.offset = startOffset;
  }

  /** True once the end-of-archive marker (a zero block) was read. */
  get ended() { return this.state === 'end'; }

  write(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'header': {
          const n = Math.min(BLOCK - this.headFill, chunk.length - i);
          chunk.copy(this.head, this.headFill, i, i + n);
          this.headFill += n;
          i += n;
          this.offset += n;
          if (this.headFill === BLOCK) { this.headFill = 0; this.header(); }
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - i);
          if (n > 0) this.h.data(chunk.subarray(i, i + n));
          i += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endData();
          break;
        }
        case 'extension': {
          const n = Math.min(this.remaining, chunk.length - i);
          if (this.ext!.kind !== 'skip') this.ext!.chunks.push(Buffer.from(chunk.subarray(i, i + n)));
          this.ext!.got += n;
          i += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endExtension();
          break;
        }
        case 'padding': {
          const n = Math.min(this.padding, chunk.length - i);
          i += n;
          this.offset += n;
          this.padding -= n;
          if (this.padding === 0) this.toHeader();
          break;
        }
        case 'end':
          // After the end marker only zero padding may follow (tar pads to its record size).
          for (; i < chunk.length; i++, this.offset++) {
            if (chunk[i] !== 0) throw new TarFormatError('data after the end of the tar archive');
          }
          break;
      }
    }
  }

  /** The input is over: fails unless the archive ended cleanly with its end marker. */
  end(): void {
    if (this.state === 'end') return;
    if (this.state === 'header' && this.headFill === 0 && this.entries === 0 && this.offset === 0) throw new TarFormatError('the archive is empty');
    throw new TarFormatError(this.state === 'header' && this.headFill === 0
      ? 'the tar archive is truncated: it has no end-of-archive marker'
      : `the tar archive is truncated in the middle of ${this.current ? this.current.path : 'a header'}`);
  }

  private toHeader() {
    this.state = 'header';
    if (this.ext === null && this.entryStart === null) this.h.boundary?.(this.offset);
  }

  private header() {
    const b = this.head;
    if (b.every((x) => x === 0)) {
      if (this.entryStart !== null) throw new TarFormatError('the tar archive ends inside an entry');
      this.zeroBlocks++;
      this.state = 'end';
      return;
    }
    if (!checksumOk(b)) throw new TarFormatError(this.entries === 0 ? 'not a tar archive' : `corrupt tar header at byte ${this.offset - BLOCK}`);
    const start = this.entryStart ?? this.offset - BLOCK;
    const flag = String.fromCharCode(b[156]!);
    const size = this.pax.size !== undefined && !['x', 'g', 'L', 'K'].includes(flag) ? Number(this.pax.size) : octal(b, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError('bad entry size');
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_EXTENSION) throw new TarFormatError(`extension record of ${size} bytes is too large`);
      this.entryStart = start;
      this.ext = { kind: flag === 'x' ? 'pax' : flag === 'L' ? 'gnu-path' : flag === 'K' ? 'gnu-link' : 'skip', chunks: [], got: 0 };
      this.remaining = size;
      this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
      this.state = 'extension';
      if (size === 0) this.endExtension();
      return;
    }
    const ustar = b.toString('ascii', 257, 262) === 'ustar';
    const prefix = ustar && b.toString('ascii', 257, 263) !== 'ustar ' ? str(b, 345, 155) : '';
    const name = this.pax.path ?? this.gnuPath ?? (prefix ? `${prefix}/${str(b, 0, 100)}` : str(b, 0, 100));
    const linkname = this.pax.linkpath ?? this.gnuLink ?? (str(b, 157, 100) || null);
    const type: TarEntry['type'] = flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'directory' : flag === '2' ? 'symlink' : flag === '1' ? 'link' : 'other';
    this.current = { path: normalize(name), type, mode: octal(b, 100, 8), size, linkname, offset: start };
    this.pax = {};
    this.gnuPath = null;
    this.gnuLink = null;
    this.entryStart = null;
    this.entries++;
    this.h.entry(this.current);
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.state = 'data';
    if (size === 0) this.endData();
  }

  private endData() {
    this.h.entryEnd(this.current!);
    this.current = null;
    if (this.padding > 0) this.state = 'padding';
    else this.toHeader();
  }

  private endExtension() {
    const ext = this.ext!;
    const buf = Buffer.concat(ext.chunks);
    if (ext.kind === 'pax') Object.assign(this.pax, parsePax(buf));
    else if (ext.kind === 'gnu-path') this.gnuPath = str(buf, 0, buf.length);
    else if (ext.kind === 'gnu-link') this.gnuLink = str(buf, 0, buf.length);
    this.ext = null;
    if (this.padding > 0) this.state = 'padding';
    else this.state = 'header';
  }
}

/** Archive paths as absolute paths of the image: `./etc/shadow`, `etc/shadow` and `/etc/shadow` are one file. */
export function normalize(p: string): string {
  const parts: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') parts.pop();
    else parts.push(s);
  }
  return `/${parts.join('/')}`;
}
