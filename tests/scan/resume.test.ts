import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanArchive, type Checkpoint } from '../../scan/engine';
import { TarFormatError, TarReader } from '../../scan/tar-reader';
import { archive, cleanImage, imageWith, writeLargeArchive } from '../support/images';
import { scanBench, testContext } from '../support/scan';

let bench: Awaited<ReturnType<typeof scanBench>>;
beforeAll(async () => { bench = await scanBench(); });
afterAll(async () => bench?.close());

const read = (buf: Buffer) => {
  const seen: string[] = [];
  const r = new TarReader({ entry: (e) => seen.push(e.path), data: () => undefined, entryEnd: () => undefined });
  r.write(buf);
  r.end();
  return seen;
};

describe('the tar reader', () => {
  it('reads paths of every kind (long names included) and refuses truncated, unterminated and non-tar input', async () => {
    const tar = await archive(cleanImage());
    expect(read(tar)).toEqual(cleanImage().map((f) => `/${f.path}`));
    expect(() => read(tar.subarray(0, 2048 + 100))).toThrow(TarFormatError);
    expect(() => read(tar.subarray(0, 1536 + 600))).toThrow(/truncated/);
    // Cut exactly after an entry: no end-of-archive marker.
    expect(() => read(tar.subarray(0, 512))).toThrow(/no end-of-archive marker/);
    expect(() => read(Buffer.from('PK\u0003\u0004 this is a zip file, not a tar archive'.padEnd(2048, 'x')))).toThrow(/not a tar archive/);
    expect(() => read(Buffer.alloc(0))).toThrow(/empty/);
  });
});

describe.each(['none', 'gzip'] as const)('a %s scan resumed from a checkpoint', (compression) => {
  it('finds the same as a scan in one go, reading only from the checkpoint on', async () => {
    // ~24 MiB of files between a finding at the front and one at the back.
    const path = join(bench.dir, `large.${compression}`);
    const { size } = await writeLargeArchive(path, {
      files: imageWith({ path: 'root/.ssh/authorized_keys', content: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ root@build\n' }),
      fillerFiles: 48, fillerBytes: 512 * 1024,
      tail: [{ path: 'srv/late/id_rsa', content: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n' }],
      compression,
    });
    const key = `resume/${compression}`;
    await bench.store.put(key, createReadStream(path));

    const checkpoints: Checkpoint[] = [];
    const whole = await scanArchive({
      store: bench.store, key, compression, ctx: testContext(), checkpointEveryMs: 1,
      onCheckpoint: async (cp) => { checkpoints.push(cp); await new Promise((r) => setTimeout(r, 2)); },
    });
    expect(whole.findings.map((f) => f.rule).sort()).toEqual(['authorized-keys', 'private-key']);
    expect(whole.bytesRead).toBe(size);

    // A checkpoint half-way: past the first finding, before the last.
    const mid = checkpoints.find((c) => c.fileOffset > size / 3 && c.fileOffset < (2 * size) / 3);
    expect(mid, `checkpoints at ${checkpoints.map((c) => c.fileOffset).join(', ')}`).toBeDefined();
    expect(mid!.findings.map((f) => f.rule)).toEqual(['authorized-keys']);
    if (compression === 'gzip') expect(mid!.access).not.toBeNull();

    const resumed = await scanArchive({ store: bench.store, key, compression, ctx: testContext(), resume: JSON.parse(JSON.stringify(mid)) as Checkpoint });
    expect(resumed.startedAt.fileOffset).toBe(mid!.fileOffset);
    expect(resumed.bytesRead).toBe(size - mid!.fileOffset);
    expect(resumed.entries).toBe(whole.entries);
    expect(resumed.findings).toEqual(whole.findings);
  });
});

describe('a damaged stored archive', () => {
  it('fails the scan with a format error, not a wrong report', async () => {
    const tar = await archive(imageWith());
    await bench.store.put('damaged/x.tar', Readable.from([tar.subarray(0, tar.length - 3000)]));
    await expect(scanArchive({ store: bench.store, key: 'damaged/x.tar', compression: 'none', ctx: testContext() })).rejects.toBeInstanceOf(TarFormatError);
    const gz = await archive(imageWith(), 'gzip');
    await bench.store.put('damaged/x.tar.gz', Readable.from([gz.subarray(0, gz.length - 20)]));
    await expect(scanArchive({ store: bench.store, key: 'damaged/x.tar.gz', compression: 'gzip', ctx: testContext() })).rejects.toThrow(/truncated/);
  });
});
