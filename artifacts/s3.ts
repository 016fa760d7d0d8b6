import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand,
  ListObjectsV2Command, S3Client, type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ArtifactNotFound, checkKey, meter, type ArtifactStore } from './store';

export interface S3StoreOptions {
  bucket: string;
  /** Prefix under which this store keeps its objects, so a bucket can be shared. */
  prefix?: string;
  client: S3ClientConfig;
  /** Multipart part size: the memory one upload holds at most, times `queueSize`. */
  partSize?: number;
  queueSize?: number;
}

const notFound = (e: unknown) => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
};

/**
 * Artifacts in an S3-compatible bucket. A write is a multipart upload whose parts stream from the body;
 * the object exists only after CompleteMultipartUpload, and a failed or aborted write aborts the upload,
 * which discards its parts. Small bodies go as one PutObject, which is atomic by itself.
 */
export function createS3Store(o: S3StoreOptions): ArtifactStore {
  // Flexible checksums only when an operation needs them: S3-compatible stores differ in how they
  // report multipart checksums, and every artifact carries its own SHA-256 anyway.
  const s3 = new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...o.client });
  const base = o.prefix ? `${o.prefix.replace(/\/+$/, '')}/` : '';
  const full = (key: string) => base + checkKey(key);
  const strip = (key: string) => key.slice(base.length);

  async function multipartUploads(prefix: string) {
    const out: { key: string; uploadId: string; startedAt?: Date }[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: o.bucket, Prefix: base + prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      for (const u of r.Uploads ?? []) out.push({ key: u.Key!, uploadId: u.UploadId!, startedAt: u.Initiated });
      if (!r.IsTruncated) return out;
      keyMarker = r.NextKeyMarker;
      uploadIdMarker = r.NextUploadIdMarker;
    }
  }

  return {
    kind: 's3',
    async put(key, body, opts = {}) {
      const m = meter(opts.maxBytes);
      body.on('error', (e) => m.stream.destroy(e));
      const upload = new Upload({
        client: s3,
        params: { Bucket: o.bucket, Key: full(key), Body: body.pipe(m.stream), ContentType: opts.contentType ?? 'application/octet-stream' },
        partSize: o.partSize ?? 8 * 1024 * 1024,
        queueSize: o.queueSize ?? 2,
        leavePartsOnError: false,
      });
      const onAbort = () => { void upload.abort().catch(() => undefined); m.stream.destroy(opts.signal?.reason ?? new Error('aborted')); };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        if (opts.signal?.aborted) onAbort();
        await upload.done();
      } catch (e) {
        body.destroy();
        // lib-storage aborts the multipart upload on its own errors; make sure of it whatever failed.
        await upload.abort().catch(() => undefined);
        for (const u of await multipartUploads(key).catch(() => [])) {
          if (u.key === full(key)) await s3.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: u.key, UploadId: u.uploadId })).catch(() => undefined);
        }
        throw m.stream.errored ?? e;
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
      return { key, ...m.result() };
    },
    async get(key, opts = {}) {
      const offset = opts.offset ?? 0;
      try {
        if (offset > 0) {
          const h = await s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: full(key) }));
          if (offset >= (h.ContentLength ?? 0)) return Readable.from([]);
        }
        const r = await s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: full(key), ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) }));
        return r.Body as Readable;
      } catch (e) {
        if (notFound(e)) throw new ArtifactNotFound(key);
        throw e;
      }
    },
    async head(key) {
      try {
        const h = await s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: full(key) }));
        return { size: h.ContentLength ?? 0 };
      } catch (e) {
        if (notFound(e)) return null;
        throw e;
      }
    },
    async delete(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: full(key) }));
    },
    async list(prefix = '') {
      const out: { key: string; partial: boolean; size?: number; startedAt?: Date }[] = [];
      let token: string | undefined;
      do {
        const r = await s3.send(new ListObjectsV2Command({ Bucket: o.bucket, Prefix: base + prefix, ContinuationToken: token }));
        for (const c of r.Contents ?? []) out.push({ key: strip(c.Key!), partial: false, size: c.Size });
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      for (const u of await multipartUploads(prefix)) out.push({ key: strip(u.key), partial: true, startedAt: u.startedAt });
      return out;
    },
    async sweepPartials(olderThanMs) {
      let n = 0;
      for (const u of await multipartUploads('')) {
        if (u.startedAt && Date.now() - u.startedAt.getTime() > olderThanMs) {
          await s3.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: u.key, UploadId: u.uploadId }));
          n++;
        }
      }
      return n;
    },
  };
}
