import type { Readable } from 'node:stream';
import type { ArtifactStore } from '../artifacts';
import { ResumableGunzip, type AccessPoint } from './gunzip';
import { RULES, type FileScan, type Finding, type ScanContext } from './rules';
import { TarReader } from './tar-reader';

export type Compression = 'gzip' | 'none';

/**
 * Everything a scan needs to go on from a tar entry boundary: where to read the stored file from,
 * the gzip access point there (gzip only), each rule's state and the findings so far. Plain JSON.
 */
export interface Checkpoint {
  fileOffset: number;
  tarOffset: number;
  access: AccessPoint | null;
  entries: number;
  states: Record<string, unknown>;
  findings: Finding[];
}

export interface ScanProgress { fileOffset: number; tarOffset: number; entries: number; bytesRead: number }

export interface ScanOptions {
  store: ArtifactStore;
  key: string;
  compression: Compression;
  ctx: ScanContext;
  /** Go on from here instead of the start. */
  resume?: Checkpoint | null;
  /** How often a checkpoint is taken (at the next entry boundary). */
  checkpointEveryMs?: number;
  onCheckpoint?(cp: Checkpoint, progress: ScanProgress): Promise<void>;
  signal?: AbortSignal;
}

export interface ScanResult { findings: Finding[]; entries: number; bytesRead: number; startedAt: { fileOffset: number; tarOffset: number } }

/** At most this many files may wait for an asynchronous verdict (ClamAV) at once. */
const MAX_INFLIGHT = 32;

/**
 * One streaming pass over a stored tar or tar.gz archive: every entry goes through every rule as it
 * streams by; nothing is unpacked to disk and no file is held in memory beyond what a rule keeps of it.
 */
export async function scanArchive(o: ScanOptions): Promise<ScanResult> {
  const resume = o.resume ?? null;
  const states: Record<string, unknown> = resume ? structuredClone(resume.states) : Object.fromEntries(RULES.map((r) => [r.id, r.init()]));
  // Findings with the index of the entry they belong to, so a checkpoint keeps exactly those before it.
  const findings: { idx: number; f: Finding }[] = (resume?.findings ?? []).map((f) => ({ idx: -1, f }));
  const inflight = new Map<number, Promise<void>>();
  let entryIdx = resume?.entries ?? 0;
  let open: FileScan[] = [];
  let wantCheckpoint = false;
  type Snapshot = { tarOffset: number; entries: number; states: string; access: AccessPoint | null; fileOffset: number };
  const taken: { snap: Snapshot | null } = { snap: null };

  const settle = (idx: number, r: Finding[] | Promise<Finding[]>) => {
    if (!(r instanceof Promise)) { for (const f of r) findings.push({ idx, f }); return; }
    const p = r.then((list) => { for (const f of list) findings.push({ idx, f }); }).finally(() => inflight.delete(idx));
    inflight.set(idx, p);
  };

  let gunzip: ResumableGunzip | null = null;
  const reader = new TarReader({
    entry(e) {
      open = [];
      for (const rule of RULES) {
        const s = rule.open(e, states[rule.id], o.ctx);
        if (s) open.push(s);
      }
    },
    data(chunk) {
      for (const s of open) s.write(chunk);
    },
    entryEnd() {
      const idx = entryIdx++;
      const scans = open;
      open = [];
      const results = scans.map((s) => s.end());
      settle(idx, results.some((r) => r instanceof Promise) ? Promise.all(results).then((l) => l.flat()) : (results as Finding[][]).flat());
    },
    boundary(tarOffset) {
      if (!wantCheckpoint) return;
      wantCheckpoint = false;
      const access = gunzip ? gunzip.pointBefore(tarOffset) : null;
      taken.snap = {
        tarOffset, entries: entryIdx, states: JSON.stringify(states), access,
        fileOffset: gunzip ? (access ? access.in - (access.bits ? 1 : 0) : 0) : tarOffset,
      };
    },
  }, resume?.tarOffset ?? 0);

  // A gzip archive resumed at an access point re-inflates from it and drops the output before the boundary.
  let skip = resume?.access ? resume.tarOffset - resume.access.out : 0;
  if (o.compression === 'gzip') {
    if (resume && !resume.access && resume.tarOffset > 0) throw new Error('a gzip checkpoint past the start needs an access point');
    gunzip = new ResumableGunzip((chunk) => {
      if (skip >= chunk.length) { skip -= chunk.length; return; }
      const rest = skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
      reader.write(rest);
    }, resume?.access ? { from: resume.access } : {});
  }

  const startFile = resume?.fileOffset ?? 0;
  let bytesRead = 0;
  const timer = setInterval(() => { wantCheckpoint = true; }, o.checkpointEveryMs ?? 10_000);
  let src: Readable | null = null;
  try {
    src = await o.store.get(o.key, { offset: startFile });
    for await (const chunk of src as AsyncIterable<Buffer>) {
      if (o.signal?.aborted) throw o.signal.reason ?? new Error('scan cancelled');
      bytesRead += chunk.length;
      if (gunzip) gunzip.push(chunk);
      else reader.write(chunk);
      if (o.ctx.clamav) await o.ctx.clamav.drain();
      while (inflight.size > MAX_INFLIGHT) await inflight.values().next().value;
      const snap = taken.snap;
      if (snap && o.onCheckpoint) {
        taken.snap = null;
        // The verdicts of files before the boundary must be in before the checkpoint may claim them.
        await Promise.all([...inflight].filter(([idx]) => idx < snap.entries).map(([, p]) => p));
        const cp: Checkpoint = {
          fileOffset: snap.fileOffset, tarOffset: snap.tarOffset, access: snap.access, entries: snap.entries,
          states: JSON.parse(snap.states) as Record<string, unknown>,
          findings: findings.filter((x) => x.idx < snap.entries).map((x) => x.f),
        };
        await o.onCheckpoint(cp, { fileOffset: startFile + bytesRead, tarOffset: reader.offset, entries: entryIdx, bytesRead });
      }
    }
    gunzip?.finish();
    reader.end();
    await Promise.all(inflight.values());
    for (const rule of RULES) for (const f of (await rule.finish?.(states[rule.id], o.ctx)) ?? []) findings.push({ idx: entryIdx, f });
    return { findings: findings.map((x) => x.f), entries: entryIdx, bytesRead, startedAt: { fileOffset: startFile, tarOffset: resume?.tarOffset ?? 0 } };
  } catch (e) {
    for (const s of open) s.abort?.();
    throw e;
  } finally {
    clearInterval(timer);
    src?.destroy();
  }
}
