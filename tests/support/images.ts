import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

/** One file of a generated root file system. */
export interface ImageFile { path: string; content?: string | Buffer; type?: 'file' | 'directory' | 'symlink'; mode?: number; linkname?: string }

/** A minimal Debian-like root file system that passes every rule. */
export function cleanImage(): ImageFile[] {
  return [
    { path: 'etc', type: 'directory' },
    { path: 'etc/os-release', content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' },
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\n' },
    { path: 'etc/shadow', content: 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nalice:!:19000:0:99999:7:::\n', mode: 0o640 },
    { path: 'etc/login.defs', content: 'MAIL_DIR /var/mail\nPASS_MAX_DAYS 99999\nPASS_MIN_LEN 8\n' },
    { path: 'etc/pam.d/common-password', content: 'password requisite pam_pwquality.so retry=3 minlen=10\npassword [success=1 default=ignore] pam_unix.so obscure use_authtok try_first_pass yescrypt\npassword requisite pam_deny.so\n' },
    { path: 'etc/ssh/sshd_config', content: 'PermitRootLogin no\nPasswordAuthentication no\n' },
    { path: 'var/lib/dpkg/status', content: dpkgStatus([['openssl', '3.0.15-1~deb12u1'], ['libssl3', '3.0.15-1~deb12u1', 'openssl'], ['bash', '5.2.15-2+b8']]) },
    { path: 'root', type: 'directory' },
    { path: 'root/.bashrc', content: 'export PS1="\\u@\\h:\\w$ "\n' },
    { path: 'root/.ssh', type: 'directory' },
    { path: 'home/alice/.bash_history', content: 'ls -la\ncd /srv/app\nsystemctl restart nginx\nmysql -u app -p\n' },
    { path: 'usr/bin/tool', content: Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 256)), mode: 0o755 },
    { path: 'usr/bin/sh', type: 'symlink', linkname: 'bash' },
    { path: `opt/app/${'deep/'.repeat(25)}config.yaml`, content: 'listen: 8080\n' },
  ];
}

export function dpkgStatus(pkgs: [name: string, version: string, source?: string][]): string {
  return pkgs.map(([name, version, source]) => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\n${source ? `Source: ${source}\n` : ''}Version: ${version}\nDescription: ${name}\n`).join('\n');
}

/** The image with `changes` applied: a file of the same path is replaced, others added. */
export function imageWith(...changes: ImageFile[]): ImageFile[] {
  const out = cleanImage().filter((f) => !changes.some((c) => c.path === f.path));
  return [...out, ...changes];
}

function packer(files: ImageFile[], extra?: (pack: tar.Pack) => Promise<void>) {
  const pack = tar.pack();
  void (async () => {
    for (const f of files) {
      const body = f.content === undefined ? undefined : typeof f.content === 'string' ? Buffer.from(f.content) : f.content;
      await new Promise<void>((resolve, reject) => {
        pack.entry({ name: `./${f.path}`, type: f.type ?? 'file', mode: f.mode ?? (f.type === 'directory' ? 0o755 : 0o644), linkname: f.linkname, ...(body ? { size: body.length } : {}) }, body ?? '', (e) => (e ? reject(e) : resolve()));
      });
    }
    if (extra) await extra(pack);
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  return pack;
}

/** The archive of `files`, as a tar or tar.gz Buffer (small fixtures). */
export async function archive(files: ImageFile[], compression: 'none' | 'gzip' = 'none'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const pack = packer(files);
  const src = (compression === 'gzip' ? (pack as unknown as Readable).pipe(createGzip()) : pack) as unknown as Readable;
  for await (const c of src) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A large archive written to `path` without holding it in memory: `files` first, then `fillerFiles`
 * files of `fillerBytes` each, then `tail` (so the rules' fixtures can sit after the bulk). Returns its
 * size and SHA-256.
 */
export async function writeLargeArchive(path: string, o: { files?: ImageFile[]; tail?: ImageFile[]; fillerFiles: number; fillerBytes: number; compression?: 'none' | 'gzip'; gzipLevel?: number }) {
  const seed = createHash('sha512').update('filler').digest();
  const pack = packer(o.files ?? [], async (p) => {
    for (let i = 0; i < o.fillerFiles; i++) {
      const entry = p.entry({ name: `./usr/share/filler/${String(i).padStart(6, '0')}.bin`, size: o.fillerBytes, mode: 0o644 });
      let left = o.fillerBytes;
      // Half random, half repetitive: it compresses about 2:1, like a real root file system.
      const chunk = Buffer.alloc(64 * 1024);
      randomFillSync(chunk, 0, 32 * 1024);
      seed.copy(chunk, 32 * 1024);
      for (let k = 32 * 1024 + seed.length; k < chunk.length; k += seed.length) chunk.writeUInt32LE(k ^ i, k);
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        if (!entry.write(chunk.subarray(0, n))) await new Promise<void>((r) => entry.once('drain', () => r()));
        left -= n;
      }
      await new Promise<void>((resolve, reject) => entry.end((e?: Error | null) => (e ? reject(e) : resolve())));
    }
    for (const f of o.tail ?? []) {
      const body = typeof f.content === 'string' ? Buffer.from(f.content) : f.content ?? Buffer.alloc(0);
      await new Promise<void>((resolve, reject) => p.entry({ name: `./${f.path}`, mode: f.mode ?? 0o644, size: body.length }, body, (e) => (e ? reject(e) : resolve())));
    }
  });
  const hash = createHash('sha256');
  let size = 0;
  const out: Writable = createWriteStream(path);
  const counter = async function* (src: AsyncIterable<Buffer>) {
    for await (const c of src) { hash.update(c); size += c.length; yield c; }
  };
  const src = (o.compression === 'gzip' ? (pack as unknown as Readable).pipe(createGzip({ level: o.gzipLevel ?? 1 })) : pack) as unknown as Readable;
  await pipeline(src, counter, out);
  return { size, sha256: hash.digest('hex') };
}
