import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createDiskStore } from '../../artifacts/disk';
import { scanArchive } from '../../scan/engine';
import type { OsvRecord, ScanContext } from '../../scan/rules';
import { archive, type ImageFile } from './images';

/** OSV records of the kind operators load: a high-scoring openssl issue in Debian 12 and Alpine 3.19, a medium one in bash. */
export const FEED: OsvRecord[] = [
  {
    id: 'DSA-0001-1', aliases: ['CVE-2024-0001'], summary: 'openssl: remote code execution',
    affected: [{ package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }] }] }],
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
  },
  {
    id: 'DSA-0002-1', aliases: ['CVE-2024-0002'], summary: 'bash: local information leak',
    affected: [{ package: { ecosystem: 'Debian:12', name: 'bash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '5.2.15-2+b8' }] }] }],
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N' }],
  },
  {
    id: 'ALPINE-CVE-2024-0001', aliases: ['CVE-2024-0001'],
    affected: [{ package: { ecosystem: 'Alpine:v3.19', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.1.4-r5' }] }] }],
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
  },
];

/** A scan context over an in-memory feed and digest list, as the activity builds it from the database. */
export function testContext(o: Partial<ScanContext> & { feed?: OsvRecord[] } = {}): ScanContext {
  const feed = o.feed ?? FEED;
  return {
    malwareDigests: o.malwareDigests ?? new Map(),
    clamav: o.clamav ?? null,
    vulnerabilities: o.vulnerabilities ?? (async ({ ecosystem, names }) =>
      feed.filter((r) => r.affected?.some((a) => a.package && a.package.ecosystem.split(':')[0] === ecosystem && names.includes(a.package.name)))),
  };
}

/** A disk store in a temp dir, and a helper that stores an image archive and scans it. */
export async function scanBench() {
  const dir = await mkdtemp(join(tmpdir(), 'scan-'));
  const store = createDiskStore(dir);
  let n = 0;
  return {
    dir, store,
    async scan(files: ImageFile[], compression: 'none' | 'gzip', ctx: ScanContext = testContext()) {
      const key = `fixtures/${n++}.tar${compression === 'gzip' ? '.gz' : ''}`;
      await store.put(key, Readable.from([await archive(files, compression)]));
      return scanArchive({ store, key, compression, ctx });
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
