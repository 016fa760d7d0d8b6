import { Transform, type TransformCallback } from 'node:stream';
import type { Request } from 'express';
import { ArtifactTooLarge, type ArtifactStore, type StoredArtifact } from '../artifacts';
import { GzipFormatError, ResumableGunzip } from '../scan/gunzip';
import { TarFormatError, TarReader } from '../scan/tar-reader';
import { Problem } from './problem';

/**
 * Checks an upload while it streams: gzip or not by its magic bytes, then every tar header, through to
 * the end-of-archive marker. A body that is not a tar archive fails at its first header; a truncated
 * one fails at its end. Nothing is buffered but a tar header.
 */
export class ArchiveCheck extends Transform {
  compression: 'none' | 'gzip' | null = null;
  private pending: Buffer | null = null;
  private readonly reader = new TarReader({ entry: () => undefined, data: () => undefined, entryEnd: () => undefined });
  private gunzip: ResumableGunzip | null = null;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    try {
      let data = chunk;
      if (this.compression === null) {
        data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
        if (data.length < 2) { this.pending = data; return done(null, chunk); }
        this.pending = null;
        this.compression = data[0] === 0x1f && data[1] === 0x8b ? 'gzip' : 'none';
        // No access points are needed here: span past any archive.
        if (this.compression === 'gzip') this.gunzip = new ResumableGunzip((b) => this.reader.write(b), { span: Number.MAX_SAFE_INTEGER });
      }
      if (this.gunzip) this.gunzip.push(data);
      else this.reader.write(data);
      done(null, chunk);
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback) {
    try {
      if (this.compression === null) throw new TarFormatError(this.pending ? 'not a tar archive' : 'the archive is empty');
      this.gunzip?.finish();
      this.reader.end();
      done();
    } catch (e) {
      done(e as Error);
    }
  }
}

export class UploadAbandoned extends Error {
  override readonly name = 'UploadAbandoned';
}

/**
 * Streams a request body into the store through the archive check. The size limit, a client that goes
 * away, and a client that stalls longer than `idleMs` all end the write, and the store removes
 * whatever it had written. Errors come back as HTTP problems.
 */
export async function storeUpload(store: ArtifactStore, key: string, req: Request, o: { maxBytes: number; idleMs: number }): Promise<StoredArtifact & { compression: 'none' | 'gzip' }> {
  const declared = Number(req.get('content-length'));
  if (Number.isFinite(declared) && declared > o.maxBytes) throw new Problem(413, 'Payload Too Large', `the archive is ${declared} bytes; the limit is ${o.maxBytes}`);
  const check = new ArchiveCheck();
  const ac = new AbortController();
  let idle = setTimeout(() => ac.abort(new UploadAbandoned(`no data for ${o.idleMs} ms`)), o.idleMs);
  req.on('data', () => { clearTimeout(idle); idle = setTimeout(() => ac.abort(new UploadAbandoned(`no data for ${o.idleMs} ms`)), o.idleMs); });
  req.on('close', () => { if (!req.complete) ac.abort(new UploadAbandoned('the client closed the connection before the end of the body')); });
  req.on('error', (e) => check.destroy(e));
  // Its errors reach the caller through the store's write; this keeps them from also counting as unhandled.
  check.on('error', () => undefined);
  try {
    const stored = await store.put(key, req.pipe(check), { maxBytes: o.maxBytes, signal: ac.signal, contentType: 'application/x-tar' });
    return { ...stored, compression: check.compression ?? 'none' };
  } catch (e) {
    const err = ac.signal.aborted ? ac.signal.reason : (check.errored ?? e);
    if (err instanceof ArtifactTooLarge) throw new Problem(413, 'Payload Too Large', `the archive is larger than the limit of ${o.maxBytes} bytes`);
    if (err instanceof TarFormatError || err instanceof GzipFormatError) throw new Problem(422, 'Unprocessable Content', `not a usable image archive (tar or tar.gz of a root file system): ${err.message}`);
    if (err instanceof UploadAbandoned) throw new Problem(408, 'Request Timeout', `upload abandoned: ${err.message}; nothing was kept`);
    throw err;
  } finally {
    clearTimeout(idle);
  }
}
