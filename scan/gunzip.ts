import {
  ZStream, Z_BLOCK, Z_BUF_ERROR, Z_OK, Z_STREAM_END, zlibInflate, zlibInflateInit2, zlibInflateSetDictionary,
} from 'pako';

/**
 * Where gzip decompression can restart without reading from the start (the zran method of zlib's
 * examples): a deflate block boundary at compressed byte `in` (with `bits` of the byte before it still
 * unread), the uncompressed offset `out` there, and the 32 KiB of output before it that later blocks
 * may refer back to. Node's zlib cannot stop at block boundaries nor restart mid-stream; pako, zlib's
 * port to JavaScript, can (Z_BLOCK, a dictionary, and its state for zlib's inflatePrime).
 */
export interface AccessPoint { in: number; bits: number; out: number; window: string }

const WINDOW = 32 * 1024;
const OUT = 256 * 1024;

export class GzipFormatError extends Error {
  override readonly name = 'GzipFormatError';
}

/**
 * Decompresses gzip (one or more members) pushed to it chunk by chunk, and records an access point
 * about every `span` bytes of output. Started from an access point, it continues from there.
 */
export class ResumableGunzip {
  /** Compressed bytes consumed, as an offset in the file. */
  in: number;
  /** Uncompressed bytes produced, as an offset in the tar stream. */
  out: number;
  /** Recent access points, oldest first (a few: a checkpoint takes the last one before its tar offset). */
  points: AccessPoint[] = [];
  private strm = new ZStream();
  private output = new Uint8Array(OUT);
  private window = new Uint8Array(WINDOW);
  private windowFill = 0;
  private lastPointOut: number;
  private done = false;
  private trailer = 0;
  private primeFirst: number;

  constructor(private readonly emit: (chunk: Buffer) => void, opts: { from?: AccessPoint; span?: number } = {}) {
    this.span = opts.span ?? 8 * 1024 * 1024;
    const p = opts.from;
    this.in = p ? p.in - (p.bits ? 1 : 0) : 0;
    this.out = p?.out ?? 0;
    this.lastPointOut = this.out;
    this.primeFirst = p?.bits ?? 0;
    if (p) {
      const win = Buffer.from(p.window, 'base64');
      this.window.set(win.subarray(win.length - Math.min(win.length, WINDOW)));
      this.windowFill = Math.min(win.length, WINDOW);
      this.init(-15);
      if (this.windowFill > 0) this.check(zlibInflateSetDictionary(this.strm, this.window.subarray(0, this.windowFill)));
      this.points.push(p);
    } else {
      this.init(16 + 15);
    }
  }
  private readonly span: number;

  private init(windowBits: number) {
    this.strm = new ZStream();
    this.check(zlibInflateInit2(this.strm, windowBits));
    this.strm.output = this.output;
  }

  private check(ret: number) {
    if (ret !== Z_OK && ret !== Z_STREAM_END && ret !== Z_BUF_ERROR) throw new GzipFormatError(`not a valid gzip stream: ${this.strm.msg || `zlib error ${ret}`}`);
    return ret;
  }

  push(chunk: Buffer): void {
    let data: Uint8Array = chunk;
    if (this.primeFirst) {
      // zlib's inflatePrime: the unread high bits of the byte before the block start the bit buffer.
      const bits = this.primeFirst;
      this.primeFirst = 0;
      this.strm.state.hold = data[0]! >> (8 - bits);
      this.strm.state.bits = bits;
      this.in += 1;
      data = data.subarray(1);
    }
    let i = 0;
    while (i < data.length) {
      if (this.trailer > 0) {
        // The 8-byte trailer of a member that was resumed raw (CRC and size): skipped, not checked.
        const n = Math.min(this.trailer, data.length - i);
        this.trailer -= n; i += n; this.in += n;
        if (this.trailer === 0) this.nextMember();
        continue;
      }
      if (this.done) {
        // After a member ends, another may follow (concatenated gzip); trailing zeros are tolerated.
        if (data[i] === 0) { i++; this.in++; continue; }
        this.init(16 + 15);
        this.done = false;
      }
      this.strm.input = data;
      this.strm.next_in = i;
      this.strm.avail_in = data.length - i;
      const before = this.strm.next_in;
      this.strm.next_out = 0;
      this.strm.avail_out = OUT;
      const ret = this.check(zlibInflate(this.strm, Z_BLOCK));
      const produced = OUT - this.strm.avail_out;
      this.in += this.strm.next_in - before;
      i = this.strm.next_in;
      if (produced > 0) this.produce(produced);
      if (ret === Z_STREAM_END) {
        if (this.strm.state.wrap === 0) this.trailer = 8;
        else this.done = true;
        continue;
      }
      const dt = this.strm.data_type;
      // At a block boundary that is not after the last block: a place to restart from.
      if ((dt & 128) && !(dt & 64) && this.out - this.lastPointOut >= this.span) this.addPoint(dt & 7);
    }
  }

  private nextMember() {
    this.done = true;
  }

  private produce(n: number) {
    const out = this.output.subarray(0, n);
    // Copy out: pako reuses its buffer, and consumers keep chunks.
    this.emit(Buffer.from(out));
    this.out += n;
    if (n >= WINDOW) {
      this.window.set(out.subarray(n - WINDOW));
      this.windowFill = WINDOW;
    } else {
      const keep = Math.min(this.windowFill, WINDOW - n);
      this.window.copyWithin(0, this.windowFill - keep, this.windowFill);
      this.window.set(out, keep);
      this.windowFill = keep + n;
    }
  }

  private addPoint(bits: number) {
    this.lastPointOut = this.out;
    this.points.push({ in: this.in, bits, out: this.out, window: Buffer.from(this.window.subarray(0, this.windowFill)).toString('base64') });
    if (this.points.length > 4) this.points.shift();
  }

  /** The latest access point at or before tar offset `out`. */
  pointBefore(out: number): AccessPoint | null {
    for (let k = this.points.length - 1; k >= 0; k--) if (this.points[k]!.out <= out) return this.points[k]!;
    return null;
  }

  /** The input is over: fails if the last member did not end. */
  finish(): void {
    if (!this.done || this.trailer > 0) throw new GzipFormatError('the gzip stream is truncated');
  }
}
