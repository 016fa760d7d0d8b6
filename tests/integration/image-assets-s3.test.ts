import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Store } from '../../artifacts/s3';
import { imageAssetVersions, scanAttempts, scanCheckpoints } from '../../db/schema';
import type { Checkpoint } from '../../scan/engine';
import { STUCK_SA } from '../../workflows/stuck-messages';
import { archive, cleanImage, imageWith, writeLargeArchive } from '../support/images';
import { startMoto, type Moto } from '../support/moto';
import { startSystem, type System } from '../support/system';
import { eventually } from '../support/eventually';

/**
 * The image path (upload → scan → report) with the artifact store on S3: moto on loopback, configured by the
 * same variables an operator sets (ARTIFACT_STORE=s3, S3_ENDPOINT, S3_BUCKET, S3_PREFIX, keys).
 */
// Above the resume test's archive (about 105 MiB), low enough that the oversized upload streams only a few seconds.
const LIMIT = 144 * 1024 * 1024;
const BUCKET = 'market-images';
const PREFIX = 'prod/artifacts';
let moto: Moto;
let sys: System;
let dir: string;
let seller: { id: string; key: string };
let assetId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'images-s3-'));
  moto = await startMoto();
  await moto.createBucket(BUCKET);
  sys = await startSystem({
    databaseProxy: true,
    config: { ...moto.env(BUCKET), S3_PREFIX: PREFIX, S3_REGION: 'us-east-1', IMAGE_MAX_BYTES: String(LIMIT), UPLOAD_IDLE_TIMEOUT_MS: '1500', SCAN_CHECKPOINT_MS: '100' },
  });
  expect(sys.config.ARTIFACT_STORE).toBe('s3');
  seller = await sys.party('seller', { merchantId: await sys.merchant() });
  const created = await sys.call('POST', '/v1/assets', { key: seller.key, body: { name: 'On S3', os: 'Debian 12', regions: ['cn-north-4'], securityGroup: { name: 'web', inbound: [] } } });
  expect(created.status, created.text).toBe(201);
  assetId = created.json.id;
});
afterAll(async () => {
  await sys?.proxy?.restore().catch(() => undefined);
  await sys?.close();
  await moto?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function upload(version: string, body: Buffer | string, type = 'application/x-tar') {
  const stream = typeof body === 'string' ? Readable.toWeb(createReadStream(body)) : body;
  const res = await fetch(`${sys.baseUrl}/v1/assets/${assetId}/versions/${version}`, {
    method: 'PUT', body: stream as BodyInit, duplex: 'half',
    headers: { authorization: `Bearer ${seller.key}`, 'content-type': type, ...(typeof body === 'string' ? { 'content-length': String((await stat(body)).size) } : {}) },
  } as RequestInit);
  return { status: res.status, json: await res.json().catch(() => undefined) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const row = async (version: string) =>
  (await sys.db.select().from(imageAssetVersions).where(and(eq(imageAssetVersions.assetId, assetId), eq(imageAssetVersions.version, version))))[0];
const settled = (version: string, withinMs = 60_000) =>
  eventually(() => sys.call('GET', `/v1/assets/${assetId}/versions/${version}`, { key: seller.key }), (r) => r.json?.status !== undefined && r.json.status !== 'scanning', `the verdict on ${version}`, withinMs);
/** Objects and unfinished multipart uploads in the bucket, as the marketplace's store sees them under its prefix. */
const inBucket = () => createS3Store({ bucket: BUCKET, prefix: PREFIX, client: moto.client }).list('images/');

describe('image assets over HTTP, stored on S3', () => {
  it('uploads a tar.gz into the bucket under the prefix, scans it from there, and serves the report', async () => {
    const gz = await archive(imageWith({ path: 'root/.ssh/authorized_keys', content: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIS3 s3@test\n' }), 'gzip');
    const r = await upload('1.0.0', gz, 'application/gzip');
    expect(r.status, JSON.stringify(r.json)).toBe(202);
    expect(r.json).toMatchObject({ status: 'scanning', compression: 'gzip', sizeBytes: gz.length });
    const v = await settled('1.0.0');
    expect(v.json).toMatchObject({ status: 'rejected', summary: { blocking: 1, byRule: { 'authorized-keys': 1 }, entries: cleanImage().length + 1 } });
    const report = await sys.call('GET', `/v1/assets/${assetId}/versions/1.0.0/report`, { key: seller.key });
    expect(report.json.findings).toEqual([expect.objectContaining({ rule: 'authorized-keys', path: '/root/.ssh/authorized_keys' })]);
    expect((await sys.call('GET', `/v1/assets/${assetId}/versions/1.0.0/report.html`, { key: seller.key })).text).toContain('<code>/root/.ssh/authorized_keys</code>');

    // The archive is an object in the bucket, under the operator's prefix, with the size and digest the API recorded.
    const { artifactKey, sha256 } = (await row('1.0.0'))!;
    const listed = await new S3Client(moto.client).send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(listed.Contents?.map((c) => [c.Key, c.Size])).toEqual([[`${PREFIX}/${artifactKey}`, gz.length]]);
    expect(sha256).toBe(v.json.sha256);
    expect(await createS3Store({ bucket: BUCKET, prefix: PREFIX, client: moto.client }).head(artifactKey)).toEqual({ size: gz.length });
  });

  it('refuses oversized, truncated, malformed and stalled uploads, leaving no object and no multipart upload in the bucket', async () => {
    const before = (await inBucket()).map((e) => e.key);
    const tar = await archive(cleanImage());
    const truncated = await upload('9.0.0', tar.subarray(0, tar.length - 1536 - 700));
    expect(truncated.status).toBe(422);
    expect(truncated.json.detail).toMatch(/truncated/);
    const malformed = await upload('9.0.1', Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(4000, 1)]), 'application/octet-stream');
    expect(malformed.status).toBe(422);
    // Past the limit while streaming (no Content-Length), after several multipart parts went to the store.
    const big = Buffer.alloc(6 * 1024 * 1024, 0);
    let sent = 0;
    const oversized = await fetch(`${sys.baseUrl}/v1/assets/${assetId}/versions/9.0.2`, {
      method: 'PUT', headers: { authorization: `Bearer ${seller.key}`, 'content-type': 'application/x-tar' }, duplex: 'half',
      body: new ReadableStream({ pull(c) { if (sent > LIMIT + big.length) { c.close(); return; } sent += big.length; c.enqueue(big); } }),
    } as RequestInit).catch((e: unknown) => e as Error);
    if (!(oversized instanceof Error)) expect(oversized.status).toBe(413);
    // A client that stops sending: 408 after UPLOAD_IDLE_TIMEOUT_MS.
    const stalled = await fetch(`${sys.baseUrl}/v1/assets/${assetId}/versions/9.0.3`, {
      method: 'PUT', headers: { authorization: `Bearer ${seller.key}`, 'content-type': 'application/x-tar' }, duplex: 'half',
      body: new ReadableStream({ start(c) { c.enqueue(tar.subarray(0, 4096)); } }),
    } as RequestInit).catch((e: unknown) => e as Error);
    if (!(stalled instanceof Error)) expect(stalled.status).toBe(408);

    const left = await eventually(inBucket, (l) => l.every((e) => !e.partial), 'multipart uploads aborted');
    expect(left.map((e) => e.key)).toEqual(before);
    for (const v of ['9.0.0', '9.0.1', '9.0.2', '9.0.3']) expect(await row(v)).toBeUndefined();
  });

  it('a scan interrupted mid-archive resumes from its checkpoint with a ranged read of the object, not from the start', { timeout: 300_000 }, async () => {
    // ~200 MiB of root file system, gzip: a finding at the front and one at the very end.
    const file = join(dir, 'big.tar.gz');
    const { size } = await writeLargeArchive(file, {
      files: imageWith({ path: 'root/.ssh/authorized_keys', content: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRange range@test\n' }),
      fillerFiles: 200, fillerBytes: 1024 * 1024,
      tail: [{ path: 'srv/late/deploy_key', content: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n' }],
      compression: 'gzip',
    });
    // Held until the upload is in, so that the scan starts on a quiet log.
    await sys.stopWorker();
    try {
      const r = await upload('2.0.0', file, 'application/gzip');
      expect(r.status, JSON.stringify(r.json)).toBe(202);
    } finally {
      await rm(file);
      await sys.startWorker();
    }
    const v = (await row('2.0.0'))!;
    const scanKey = `${v.id}:1`;
    const objectPath = `/${BUCKET}/${PREFIX}/${v.artifactKey}`;

    // A checkpoint past the start; then the database goes away for a moment (shorter than the retries), which fails the attempt.
    await eventually(async () => (await sys.db.select().from(scanCheckpoints).where(eq(scanCheckpoints.scanKey, scanKey)))[0],
      (c) => ((c?.checkpoint as unknown as Checkpoint | undefined)?.fileOffset ?? 0) > 0, 'a checkpoint', 300_000);
    await sys.proxy!.cut();
    try {
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await sys.proxy!.restore();
    }
    const [cp] = await sys.db.select().from(scanCheckpoints).where(eq(scanCheckpoints.scanKey, scanKey));
    const resumeFrom = (cp!.checkpoint as unknown as Checkpoint).fileOffset;
    expect(resumeFrom).toBeGreaterThan(0);
    expect(resumeFrom).toBeLessThan(size);

    const done = await settled('2.0.0', 180_000);
    expect(done.json).toMatchObject({ status: 'rejected', summary: { byRule: { 'authorized-keys': 1, 'private-key': 1 } } });
    // Retried by Temporal, never stuck.
    expect((await sys.env.client.workflow.getHandle(v.workflowId).describe()).typedSearchAttributes.get(STUCK_SA.stuck)).not.toBe(true);

    const attempts = await sys.db.select().from(scanAttempts).where(eq(scanAttempts.scanKey, scanKey)).orderBy(asc(scanAttempts.attempt));
    expect(attempts[0]).toMatchObject({ attempt: 1, fromFileOffset: 0, finishedAt: null });
    const last = attempts.at(-1)!;
    expect(last).toMatchObject({ fromFileOffset: resumeFrom, bytesRead: size - resumeFrom });
    expect(last.finishedAt).not.toBeNull();
    // The store served the first attempt the whole object (200) and the resumed one a range from the checkpoint (206).
    const gets = moto.requests().filter((l) => l.includes(`"GET ${objectPath}?`) || l.includes(`"GET ${objectPath} `));
    expect(gets.length).toBeGreaterThanOrEqual(2);
    expect(gets[0]).toMatch(/" 200 /);
    expect(gets.at(-1)).toMatch(/" 206 /);
  });
});
