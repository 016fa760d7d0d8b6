import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ArtifactNotFound, checkKey, meter, type ArtifactStore } from './store';

const PARTIAL = '.partial';

/**
 * Artifacts as files under `root`. A write goes to `root/.partial/` and is renamed into place when
 * complete (same file system, so the rename is atomic); a failed write removes its partial file.
 */
export function createDiskStore(root: string): ArtifactStore {
  const path = (key: string) => join(root, ...checkKey(key).split('/'));
  const partials = join(root, PARTIAL);

  async function walk(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
    const out: string[] = [];
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) out.push(...(await walk(p)));
      else out.push(p);
    }
    return out;
  }

  return {
    kind: 'disk',
    async put(key, body, opts = {}) {
      const target = path(key);
      await mkdir(partials, { recursive: true });
      const tmp = join(partials, `${randomBytes(12).toString('hex')}`);
      const m = meter(opts.maxBytes);
      try {
        await pipeline(body, m.stream, createWriteStream(tmp, { flags: 'wx' }), { signal: opts.signal });
        await mkdir(dirname(target), { recursive: true });
        await rename(tmp, target);
      } catch (e) {
        await rm(tmp, { force: true });
        body.destroy();
        throw e;
      }
      return { key, ...m.result() };
    },
    async get(key, opts = {}) {
      const p = path(key);
      const s = await stat(p).catch(() => null);
      if (!s?.isFile()) throw new ArtifactNotFound(key);
      return createReadStream(p, { start: opts.offset ?? 0, highWaterMark: 1 << 20 });
    },
    async head(key) {
      const s = await stat(path(key)).catch(() => null);
      return s?.isFile() ? { size: s.size } : null;
    },
    async delete(key) {
      await rm(path(key), { force: true });
    },
    async list(prefix = '') {
      const out = [];
      for (const f of await walk(root)) {
        const rel = relative(root, f).split(sep).join('/');
        const partial = rel.startsWith(`${PARTIAL}/`);
        if (!partial && !rel.startsWith(prefix)) continue;
        const s = await stat(f).catch(() => null);
        if (s) out.push({ key: rel, partial, size: s.size, startedAt: s.birthtime.getTime() ? s.birthtime : s.ctime });
      }
      return out;
    },
    async sweepPartials(olderThanMs) {
      let n = 0;
      for (const f of await walk(partials)) {
        const s = await stat(f).catch(() => null);
        if (s && Date.now() - s.mtimeMs > olderThanMs) { await rm(f, { force: true }); n++; }
      }
      return n;
    },
  };
}
