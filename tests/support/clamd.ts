import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clamdCommand } from '../../scan/clamav';

/** A string only the test signature database detects: written into fixtures as the "malware". */
export const TEST_MALWARE = 'marketplace-test-malware-signature';
export const TEST_SIGNATURE = 'Marketplace.Test.Malware';

const CLAMD = ['/usr/sbin/clamd', '/usr/bin/clamd'].find((p) => existsSync(p)) ?? 'clamd';
const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
});

/**
 * Debian's clamd on a loopback port with a one-signature database of our own (an .ndb body
 * signature), so the malware rule's ClamAV path really runs without downloading ClamAV's databases.
 */
export async function startClamd() {
  const dir = await mkdtemp(join(tmpdir(), 'clamd-'));
  await writeFile(join(dir, 'marketplace-test.ndb'), `${TEST_SIGNATURE}:0:*:${Buffer.from(TEST_MALWARE).toString('hex')}\n`);
  const port = await freePort();
  await writeFile(join(dir, 'clamd.conf'), [
    'Foreground yes', `TCPSocket ${port}`, 'TCPAddr 127.0.0.1', `DatabaseDirectory ${dir}`, 'StreamMaxLength 100M', 'MaxThreads 8', 'MaxQueue 200', '',
  ].join('\n'));
  const child = spawn(CLAMD, ['-c', join(dir, 'clamd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const address = { host: '127.0.0.1', port };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`clamd exited: ${err}`);
    const pong = await clamdCommand(address, 'PING', 1000).catch(() => '');
    if (pong === 'PONG') break;
    if (i > 300) throw new Error(`clamd did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address, addressString: `127.0.0.1:${port}`,
    async close() {
      if (child.exitCode === null) { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
