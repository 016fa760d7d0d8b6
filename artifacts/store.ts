import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';

/**
 * Where large files live (image archives, supervision files): a directory on disk by default, any
 * S3-compatible store when configured. Writes stream: nothing of an object is held in memory beyond
 * a chunk (or one multipart part on S3), and an object appears under its key only once complete.
 */
export interface ArtifactStore {
  readonly kind: 'disk' | 's3';
  /**
   * Streams `body` into `key`. The SHA-256 and size are computed while streaming. Past `maxBytes` the
   * write fails with `ArtifactTooLarge`; on that, on any stream error and on `signal` aborting, nothing is
   * left behind: no object, no partial file, no unfinished multipart upload.
   */
  put(key: string, body: Readable, opts?: PutOptions): Promise<StoredArtifact>;
  /** Reads an object from byte `offset` (inclusive) to its end. Fails with `ArtifactNotFound`. */
  get(key: string, opts?: { offset?: number }): Promise<Readable>;
  /** Size of an object, or null when there is none. */
  head(key: string): Promise<{ size: number } | null>;
  /** Removes an object; removing one that is not there is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Everything under `prefix`, finished or not: objects and, marked `partial`, unfinished writes. Tests
   * use it to show that a failed write left nothing behind; `sweepPartials` uses it after a crash.
   */
  list(prefix?: string): Promise<{ key: string; partial: boolean; size?: number; startedAt?: Date }[]>;
  /** Removes unfinished writes older than `olderThanMs` (a process killed mid-write leaves them). */
  sweepPartials(olderThanMs: number): Promise<number>;
}

export interface PutOptions {
  maxBytes?: number;
  signal?: AbortSignal;
  contentType?: string;
}
export interface StoredArtifact { key: string; size: number; sha256: string }

export class ArtifactTooLarge extends Error {
  override readonly name = 'ArtifactTooLarge';
  constructor(public readonly maxBytes: number) { super(`the file is larger than the limit of ${maxBytes} bytes`); }
}
export class ArtifactNotFound extends Error {
  override readonly name = 'ArtifactNotFound';
  constructor(public readonly key: string) { super(`no artifact ${key}`); }
}
export class InvalidArtifactKey extends Error {
  override readonly name = 'InvalidArtifactKey';
}

// Keys are relative paths of plain segments: no `..`, no absolute paths, nothing a file system or S3 reads twice.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export function checkKey(key: string): string {
  const parts = key.split('/');
  if (key.length > 512 || parts.some((p) => !SEGMENT.test(p) || p === '.' || p === '..')) {
    throw new InvalidArtifactKey(`invalid artifact key ${JSON.stringify(key)}`);
  }
  return key;
}

/**
 * A pass-through that hashes and counts what flows by and fails past the limit, so both stores measure
 * a body the same way. `result()` is valid once the stream has ended.
 */
export function meter(maxBytes = Number.POSITIVE_INFINITY) {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new ArtifactTooLarge(maxBytes));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ size, sha256: hash.digest('hex') }) };
}
