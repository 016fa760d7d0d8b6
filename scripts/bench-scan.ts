/**
 * bench:scan — the image scan's speed and memory beside `sha256sum` and `tar -tf`/`tar -tzf` reading the
 * same generated archive in the same run. Each reader runs as its own process; its peak resident memory
 * (VmHWM) is read from /proc while it runs.
 *
 *   npm run bench:scan -- [GiB sizes of the plain archives, default 1 2] [--gzip GiB, default 1]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createDiskStore } from '../artifacts/disk';
import { scanArchive, type Compression } from '../scan/engine';
import { cleanImage, writeLargeArchive } from '../tests/support/images';
import { testContext } from '../tests/support/scan';

const MiB = 1024 * 1024;

/** Runs a command, polling its peak RSS; returns seconds and MiB. */
function measure(cmd: string, args: string[]): Promise<{ seconds: number; peakMiB: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let peak = 0;
    child.stdout!.on('data', (b: Buffer) => { if (out.length < 10_000) out += b.toString(); });
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch { /* exited */ }
    }, 10);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}`));
      else resolve({ seconds, peakMiB: peak, out });
    });
  });
}

/** `--one <file> <compression>`: the scan itself, as the worker runs it, in this process. */
async function scanOne(file: string, compression: Compression) {
  const store = createDiskStore(dirname(file));
  const r = await scanArchive({ store, key: basename(file), compression, ctx: testContext({ feed: [] }) });
  console.log(JSON.stringify({ entries: r.entries, findings: r.findings.length, bytesRead: r.bytesRead }));
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--one') return scanOne(args[1]!, args[2] as Compression);
  const gzIdx = args.indexOf('--gzip');
  const gzipGiB = gzIdx >= 0 ? Number(args[gzIdx + 1]) : 1;
  const sizes = args.filter((_, i) => gzIdx < 0 || (i !== gzIdx && i !== gzIdx + 1)).map(Number).filter((n) => n > 0);
  const plain = sizes.length ? sizes : [1, 2];
  const dir = await mkdtemp(join(tmpdir(), 'bench-scan-'));
  const rows: string[] = [];
  const peaks: number[] = [];
  try {
    const runs: { name: string; gib: number; compression: Compression }[] = [
      ...plain.map((gib) => ({ name: `image-${gib}g.tar`, gib, compression: 'none' as const })),
      ...(gzipGiB > 0 ? [{ name: `image-${gzipGiB}g.tar.gz`, gib: gzipGiB, compression: 'gzip' as const }] : []),
    ];
    const idle = await measure(process.execPath, ['--import', 'tsx', '-e', '']);
    console.log(`A bare node + tsx process peaks at ${idle.peakMiB.toFixed(0)} MiB.`);
    for (const run of runs) {
      const file = join(dir, run.name);
      process.stdout.write(`generating ${run.name} (${run.gib} GiB of files) … `);
      const { size } = await writeLargeArchive(file, { files: cleanImage(), fillerFiles: Math.round(run.gib * 1024), fillerBytes: MiB, compression: run.compression });
      console.log(`${(size / MiB).toFixed(0)} MiB on disk`);
      const sha = await measure('sha256sum', [file]);
      // --no-seek: on a regular file GNU tar would otherwise skip file contents with lseek and read only headers.
      const tar = await measure('tar', ['--no-seek', run.compression === 'gzip' ? '-tzf' : '-tf', file]);
      const scan = await measure(process.execPath, ['--import', 'tsx', import.meta.filename, '--one', file, run.compression]);
      const result = JSON.parse(scan.out) as { entries: number; findings: number; bytesRead: number };
      if (result.bytesRead !== size) throw new Error(`the scan read ${result.bytesRead} of ${size} bytes`);
      const mbps = (s: number) => size / MiB / s;
      peaks.push(scan.peakMiB);
      rows.push(
        `${run.name.padEnd(18)} ${(size / MiB).toFixed(0).padStart(6)} MiB | scan ${mbps(scan.seconds).toFixed(0).padStart(5)} MB/s, peak ${scan.peakMiB.toFixed(0).padStart(4)} MiB (${result.entries} files)`
        + ` | sha256sum ${mbps(sha.seconds).toFixed(0).padStart(5)} MB/s, ${sha.peakMiB.toFixed(0)} MiB | tar ${run.compression === 'gzip' ? '-tzf' : '-tf'} ${mbps(tar.seconds).toFixed(0).padStart(5)} MB/s, ${tar.peakMiB.toFixed(0)} MiB`
        + ` | scan/sha256sum ${(sha.seconds / scan.seconds).toFixed(2)}x, scan/tar ${(tar.seconds / scan.seconds).toFixed(2)}x`,
      );
      console.log(rows.at(-1));
      await rm(file);
    }
    console.log('\nbench:scan (MB/s of the stored file; ratio = speed of the scan / speed of the baseline)');
    for (const r of rows) console.log(r);
    if (plain.length > 1) console.log(`scan peak memory across plain sizes ${plain.join(' and ')} GiB: ${peaks.slice(0, plain.length).map((p) => `${p.toFixed(0)} MiB`).join(' vs ')} (flat: independent of the archive's size)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
