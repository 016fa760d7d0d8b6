import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactNotFound, ArtifactTooLarge, InvalidArtifactKey, type ArtifactStore } from '../../artifacts';
import { createDiskStore } from '../../artifacts/disk';
import { createS3Store } from '../../artifacts/s3';
import { startMoto, type Moto } from '../support/moto';

const MiB = 1024 * 1024;
/** A body of `size` pseudo-random bytes made chunk by chunk, never whole in memory; `failAt` breaks it there. */
function body(size: number, o: { failAt?: number; seed?: string } = {}) {
  const hash = createHash('sha256');
  let sent = 0;
  const block = createHash('sha512').update(o.seed ?? 'x').digest();
  const chunk = Buffer.concat(Array.from({ length: 1024 }, () => block)); // 64 KiB
  const stream = new Readable({
    read() {
      if (o.failAt !== undefined && sent >= o.failAt) { this.destroy(new Error('client went away')); return; }
      if (sent >= size) { this.push(null); return; }
      const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
      sent += piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

let moto: Moto;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'artifacts-'));
  moto = await startMoto();
  await moto.createBucket('store-test');
});
afterAll(async () => {
  await moto?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const stores: [string, () => ArtifactStore][] = [
  ['disk', () => createDiskStore(dir)],
  // The smallest part S3 allows, so a few MiB already exercise multipart uploads.
  ['s3 (moto)', () => createS3Store({ bucket: 'store-test', prefix: 'it', client: moto.client, partSize: 5 * MiB, queueSize: 2 })],
];

describe.each(stores)('the %s artifact store', (_name, make) => {
  let store: ArtifactStore;
  beforeAll(() => { store = make(); });
  const nothingUnder = async (prefix: string) => (await store.list(prefix)).filter((e) => e.key.startsWith(prefix) || e.partial);

  it('streams a file in, with its SHA-256 and size, and reads it back from any offset', async () => {
    const b = body(12 * MiB + 123, { seed: 'one' });
    const stored = await store.put('t1/a/file.tar', b.stream, { maxBytes: 20 * MiB });
    expect(stored).toEqual({ key: 't1/a/file.tar', size: 12 * MiB + 123, sha256: b.digest() });
    expect(await store.head('t1/a/file.tar')).toEqual({ size: 12 * MiB + 123 });

    const all = createHash('sha256');
    for await (const c of await store.get('t1/a/file.tar')) all.update(c as Buffer);
    expect(all.digest('hex')).toBe(stored.sha256);

    const again = body(12 * MiB + 123, { seed: 'one' });
    const expected = Buffer.alloc(1000);
    let pos = 0;
    for await (const c of again.stream) {
      const buf = c as Buffer;
      const from = 12 * MiB + 123 - 1000;
      if (pos + buf.length > from) buf.copy(expected, Math.max(0, pos - from), Math.max(0, from - pos));
      pos += buf.length;
    }
    const tail = Buffer.concat(await (await store.get('t1/a/file.tar', { offset: 12 * MiB + 123 - 1000 })).toArray());
    expect(tail.equals(expected)).toBe(true);
    expect((await (await store.get('t1/a/file.tar', { offset: 12 * MiB + 123 })).toArray()).length).toBe(0);
    expect((await store.list('t1/')).filter((e) => !e.partial).map((e) => e.key)).toEqual(['t1/a/file.tar']);
  });

  it('refuses a body over the limit and leaves nothing behind', async () => {
    const b = body(40 * MiB);
    await expect(store.put('t2/big.tar', b.stream, { maxBytes: 11 * MiB })).rejects.toBeInstanceOf(ArtifactTooLarge);
    expect(await store.head('t2/big.tar')).toBeNull();
    expect(await nothingUnder('t2/')).toEqual([]);
  });

  it('leaves nothing behind when the body breaks off half-way (a client that went away)', async () => {
    const b = body(30 * MiB, { failAt: 13 * MiB });
    await expect(store.put('t3/broken.tar', b.stream)).rejects.toThrow('client went away');
    expect(await store.head('t3/broken.tar')).toBeNull();
    expect(await nothingUnder('t3/')).toEqual([]);
  });

  it('leaves nothing behind when the write is aborted, and shows no object before it completes', async () => {
    const ac = new AbortController();
    const b = body(200 * MiB);
    const put = store.put('t4/aborted.tar', b.stream, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 300));
    expect(await store.head('t4/aborted.tar')).toBeNull();
    ac.abort(new Error('abandoned'));
    await expect(put).rejects.toThrow();
    expect(await store.head('t4/aborted.tar')).toBeNull();
    expect(await nothingUnder('t4/')).toEqual([]);
  });

  it('refuses keys that could escape its root, and answers a missing key with ArtifactNotFound', async () => {
    for (const key of ['../etc/passwd', '/abs', 'a/../b', 'a//b', '', '.hidden']) {
      await expect(store.put(key, Readable.from(['x']))).rejects.toBeInstanceOf(InvalidArtifactKey);
    }
    await expect(store.get('t5/none')).rejects.toBeInstanceOf(ArtifactNotFound);
    await store.delete('t5/none');
    await store.put('t5/small', Readable.from([Buffer.from('hello')]));
    expect(await text(await store.get('t5/small', { offset: 1 }))).toBe('ello');
    await store.delete('t5/small');
    expect(await store.head('t5/small')).toBeNull();
  });
});

describe('streaming', () => {
  it('writes a body many times larger than the memory it uses (disk)', async () => {
    const store = createDiskStore(dir);
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
    const stored = await store.put('mem/big.tar', body(256 * MiB).stream);
    clearInterval(timer);
    expect(stored.size).toBe(256 * MiB);
    expect(peak - before).toBeLessThan(128 * MiB);
    await store.delete('mem/big.tar');
  });
});

describe('sweeping unfinished writes left by a killed process', () => {
  it('removes old partial files on disk', async () => {
    const store = createDiskStore(dir);
    await mkdir(join(dir, '.partial'), { recursive: true });
    const stale = join(dir, '.partial', 'stale');
    await writeFile(stale, randomBytes(10));
    await utimes(stale, new Date(Date.now() - 2 * 3_600_000), new Date(Date.now() - 2 * 3_600_000));
    await writeFile(join(dir, '.partial', 'fresh'), randomBytes(10));
    expect(await store.sweepPartials(3_600_000)).toBe(1);
    expect((await store.list()).filter((e) => e.partial).map((e) => e.key)).toEqual(['.partial/fresh']);
    await rm(join(dir, '.partial', 'fresh'));
  });

  it('aborts old multipart uploads on S3', async () => {
    const store = createS3Store({ bucket: 'store-test', prefix: 'sweep', client: moto.client });
    await new S3Client(moto.client).send(new CreateMultipartUploadCommand({ Bucket: 'store-test', Key: 'sweep/left/over.tar' }));
    expect((await store.list('left/')).map((e) => ({ key: e.key, partial: e.partial }))).toEqual([{ key: 'left/over.tar', partial: true }]);
    expect(await store.sweepPartials(0)).toBe(1);
    expect(await store.list('left/')).toEqual([]);
  });
});
