import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { requireTool } from '../../scripts/dev-server';

export const MOTO_SERVER = process.env.MOTO_SERVER ?? resolve(import.meta.dirname, '../../.tools/moto/bin/moto_server');

/** moto in server mode on an ephemeral loopback port: a real S3-compatible HTTP server for the tests. */
export async function startMoto() {
  requireTool(MOTO_SERVER);
  const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The server's access log (werkzeug: `"GET /bucket/key HTTP/1.1" 206 -`), kept line by line for tests that check how the store was read.
  const requests: string[] = [];
  let partial = '';
  const keepLog = (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      // werkzeug colours the request of any status but 200 (a 206 too): without the escapes, one format for all.
      const l = line.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
      if (/"[A-Z]+ \S+ HTTP\/1\.\d" \d{3}/.test(l)) requests.push(l);
    }
  };
  const endpoint = await new Promise<string>((resolveUrl, reject) => {
    let seen = '';
    const onData = (b: Buffer) => {
      seen += b.toString();
      const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m) { child.stdout!.off('data', onData); child.stderr!.off('data', onData); resolveUrl(m[1]!); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`moto_server exited (${code}): ${seen}`)));
    setTimeout(() => reject(new Error(`moto_server did not start: ${seen}`)), 30_000).unref();
  });
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const client = { endpoint, region: 'us-east-1', forcePathStyle: true, credentials };
  const createBucket = async (bucket: string) => { await new S3Client(client).send(new CreateBucketCommand({ Bucket: bucket })); };
  child.stdout!.on('data', keepLog);
  child.stderr!.on('data', keepLog);
  return {
    endpoint, client, createBucket,
    /** Access-log lines of the requests served so far, e.g. `… "GET /bucket/images/x HTTP/1.1" 206 -`. */
    requests: () => [...requests],
    /** The configuration variables that point the marketplace at this server. */
    env: (bucket: string) => ({ ARTIFACT_STORE: 's3', S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_ACCESS_KEY_ID: 'test', S3_SECRET_ACCESS_KEY: 'test' }),
    async close() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
export type Moto = Awaited<ReturnType<typeof startMoto>>;
