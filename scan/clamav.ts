import { connect, type Socket } from 'node:net';
import type { ClamavClient } from './rules';

export interface ClamdAddress { host: string; port: number }

export function parseClamdAddress(s: string): ClamdAddress {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`not a host:port address: ${s}`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Sends one command to clamd and returns its reply (null-terminated commands, `z` prefix). */
export function clamdCommand(addr: ClamdAddress, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(addr.port, addr.host);
    let reply = '';
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`clamd did not answer ${command} within ${timeoutMs} ms`)));
    s.on('connect', () => s.write(`z${command}\0`));
    s.on('data', (b) => { reply += b.toString(); });
    s.on('end', () => resolve(reply.replace(/\0$/, '')));
    s.on('error', reject);
  });
}

/**
 * ClamAV's daemon over TCP: each file is streamed with INSTREAM on its own connection, chunk by
 * chunk as the archive is read, so no file is written to disk or held whole. A file larger than
 * `maxFileBytes` is scanned up to there (clamd's own limits skip larger files the same way).
 */
export function createClamavClient(addr: ClamdAddress, opts: { maxFileBytes?: number; timeoutMs?: number } = {}): ClamavClient {
  const maxFileBytes = opts.maxFileBytes ?? 100 * 1024 * 1024;
  const waiting = new Set<Socket>();
  return {
    open() {
      const s = connect(addr.port, addr.host);
      s.setNoDelay(true);
      let sent = 0;
      let failed: Error | null = null;
      let reply = '';
      s.setTimeout(opts.timeoutMs ?? 120_000, () => s.destroy(new Error('clamd timed out')));
      const done = new Promise<string>((resolve, reject) => {
        s.on('data', (b) => { reply += b.toString(); });
        s.on('end', () => resolve(reply.replace(/\0$/, '').trim()));
        s.on('error', (e) => { failed = e; reject(e); });
      });
      done.catch(() => undefined);
      s.write('zINSTREAM\0');
      const frame = (chunk: Buffer) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(chunk.length);
        if (!s.write(len) || !s.write(chunk)) waiting.add(s);
      };
      return {
        write(chunk) {
          if (failed || sent >= maxFileBytes) return;
          const piece = chunk.length > maxFileBytes - sent ? chunk.subarray(0, maxFileBytes - sent) : chunk;
          sent += piece.length;
          frame(piece);
        },
        async end() {
          s.write(Buffer.alloc(4));
          const r = await done;
          waiting.delete(s);
          // "stream: OK", "stream: <signature> FOUND", or an error such as a size limit.
          const m = /^stream: (.+) FOUND$/.exec(r);
          if (m) return m[1]!;
          if (r === 'stream: OK') return null;
          throw new Error(`clamd answered: ${r}`);
        },
        abort() { waiting.delete(s); s.destroy(); },
      };
    },
    async drain() {
      for (const s of [...waiting]) {
        if (s.writableNeedDrain && !s.destroyed) await new Promise((r) => { s.once('drain', r); s.once('close', r); });
        waiting.delete(s);
      }
    },
  };
}
