import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageAssetVersions, notifications, scanAttempts, scanCheckpoints } from '../../db/schema';
import type { Checkpoint } from '../../scan/engine';
import { STUCK_SA } from '../../workflows/stuck-messages';
import { archive, imageWith, writeLargeArchive } from '../support/images';
import { startSystem, type System } from '../support/system';
import { eventually } from '../support/eventually';

/**
 * Our own faults during a scan (docs/image-assets.md, "Stuck"): the scan waits in `stuck` for operators instead of
 * failing or giving the seller a verdict, and finishes with the right one once the cause is fixed. Faults are injected
 * below the API: the stored file itself is damaged, the database proxy is cut.
 */
let sys: System;
let dir: string;
let seller: { id: string; key: string };
let operator: { id: string; key: string };
let assetId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scan-stuck-'));
  sys = await startSystem({ databaseProxy: true, config: { ARTIFACT_DIR: join(dir, 'store'), SCAN_CHECKPOINT_MS: '100', SCAN_MAX_ATTEMPTS: '3' } });
  const merchantId = await sys.merchant();
  seller = await sys.party('seller', { merchantId });
  operator = await sys.party('operator', { supervisor: true });
  const created = await sys.call('POST', '/v1/assets', { key: seller.key, body: { name: 'Stuck scans', os: 'Debian 12', regions: ['cn-north-4'], securityGroup: { name: 'web', inbound: [] } } });
  expect(created.status, created.text).toBe(201);
  assetId = created.json.id;
});
afterAll(async () => {
  await sys?.proxy?.restore().catch(() => undefined);
  await sys?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function upload(version: string, body: Buffer | string) {
  const stream = typeof body === 'string' ? Readable.toWeb(createReadStream(body)) : body;
  const res = await fetch(`${sys.baseUrl}/v1/assets/${assetId}/versions/${version}`, {
    method: 'PUT', body: stream as BodyInit, duplex: 'half',
    headers: { authorization: `Bearer ${seller.key}`, 'content-type': 'application/x-tar', ...(typeof body === 'string' ? { 'content-length': String((await stat(body)).size) } : {}) },
  } as RequestInit);
  expect(res.status, await res.clone().text()).toBe(202);
  const [row] = await sys.db.select().from(imageAssetVersions).where(and(eq(imageAssetVersions.assetId, assetId), eq(imageAssetVersions.version, version)));
  return row!;
}
const version = async (id: string) => (await sys.db.select().from(imageAssetVersions).where(eq(imageAssetVersions.id, id)))[0]!;
const stuckItem = async (workflowId: string) =>
  ((await sys.call('GET', '/v1/stuck-processes', { key: operator.key })).json?.items ?? []).find((i: { workflowId: string }) => i.workflowId === workflowId);
/** What the seller has been told about `v` by any channel: nothing, while the scan is stuck. */
async function toldSeller(v: string) {
  const inSite = (await sys.db.select().from(notifications).where(eq(notifications.recipientPrincipalId, seller.id))).filter((n) => n.subject.includes(`version ${v} `));
  return [...sys.inbox.mails.filter((m) => m.subject.includes(`version ${v} `)), ...sys.inbox.sms.filter((s) => s.text.includes(`version ${v} `)), ...inSite];
}

describe('a scan held by our own faults', () => {
  it('an archive damaged in the store holds the scan in stuck: listed for operators, supervisors alerted, no verdict to the seller; restored, the operator retry finishes it as rejected', async () => {
    const original = await archive(imageWith({ path: 'root/.ssh/authorized_keys', content: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStuck stuck@test\n' }), 'gzip');
    // Held before the scan starts, so the damage is there when it reads the file.
    await sys.stopWorker();
    let v: Awaited<ReturnType<typeof upload>>;
    try {
      v = await upload('1.0.0', original);
      await truncate(join(dir, 'store', ...v.artifactKey.split('/')), Math.floor(original.length / 2));
    } finally {
      await sys.startWorker();
    }

    const item = await eventually(() => stuckItem(v.workflowId), (i) => i !== undefined, 'the stuck list');
    expect(item).toMatchObject({ workflowType: 'imageAssetScan', subjectId: v.id, step: 'scan', failureType: 'ArchiveUnreadable', resolvedAt: null });
    expect(item.message).toMatch(/stored archive cannot be read/);
    const handle = sys.env.client.workflow.getHandle(v.workflowId);
    const attrs = (await handle.describe()).typedSearchAttributes;
    expect(attrs.get(STUCK_SA.stuck)).toBe(true);
    expect(attrs.get(STUCK_SA.reason)).toBe('ArchiveUnreadable');
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await eventually(async () => sys.inbox.mails.some((m) => m.to.includes('operator@example.com') && m.subject.includes(`${v.workflowId} is stuck`)), (ok) => ok, 'the supervisors\' alert');
    // No verdict: the seller sees the version scanning and has been told nothing.
    expect((await sys.call('GET', `/v1/assets/${assetId}/versions/1.0.0`, { key: seller.key })).json).toMatchObject({ status: 'scanning', summary: null });
    expect(await toldSeller('1.0.0')).toEqual([]);

    // A retry before the fix fails again and says why.
    const early = await sys.call('POST', `/v1/stuck-processes/${v.workflowId}/retry`, { key: operator.key, body: {} });
    expect(early.status).toBe(200);
    expect(early.json).toMatchObject({ resolved: false, stuck: { step: 'scan', failureType: 'ArchiveUnreadable' } });

    // The operator restores the file from the upload's copy; the retry scans it and the verdict is the image's own.
    const { artifactKey, sha256 } = v;
    await writeFile(join(dir, 'store', ...artifactKey.split('/')), original);
    expect(createHash('sha256').update(await readFile(join(dir, 'store', ...artifactKey.split('/')))).digest('hex')).toBe(sha256);
    const retried = await sys.call('POST', `/v1/stuck-processes/${v.workflowId}/retry`, { key: operator.key, body: {} });
    expect(retried.status).toBe(200);
    expect(retried.json).toEqual({ resolved: true, stuck: null });
    const done = await eventually(() => sys.call('GET', `/v1/assets/${assetId}/versions/1.0.0`, { key: seller.key }), (r) => r.json.status !== 'scanning', 'the verdict');
    expect(done.json).toMatchObject({ status: 'rejected', summary: { blocking: 1, byRule: { 'authorized-keys': 1 } } });
    expect((await sys.call('GET', `/v1/stuck-processes/${v.workflowId}`, { key: operator.key })).json).toMatchObject({ resolvedBy: operator.id });
    expect((await handle.describe()).typedSearchAttributes.get(STUCK_SA.stuck)).toBe(false);
    await eventually(() => toldSeller('1.0.0'), (t) => t.some((m) => 'subject' in m && m.subject.includes('failed the security scan')), 'the seller told of the rejection');
  });

  it('the database away in the middle of a scan holds it in stuck once the retries run out; back, the operator retry resumes from the checkpoint and finishes it', { timeout: 300_000 }, async () => {
    // ~300 MiB of root file system, gzip: a finding at the front and one at the very end, so the verdict needs both halves.
    const file = join(dir, 'big.tar.gz');
    const { size } = await writeLargeArchive(file, {
      files: imageWith({ path: 'root/.ssh/authorized_keys', content: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAway away@test\n' }),
      fillerFiles: 300, fillerBytes: 1024 * 1024,
      tail: [{ path: 'srv/late/deploy_key', content: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n' }],
      compression: 'gzip',
    });
    const v = await upload('2.0.0', file);
    await rm(file);
    const scanKey = `${v.id}:1`;

    // A checkpoint past the start, then the database goes away.
    await eventually(async () => (await sys.db.select().from(scanCheckpoints).where(eq(scanCheckpoints.scanKey, scanKey)))[0], (r) => ((r?.checkpoint as unknown as Checkpoint | undefined)?.fileOffset ?? 0) > 0, 'a checkpoint', 300_000);
    await sys.proxy!.cut();
    let restored = false;
    try {
      const handle = sys.env.client.workflow.getHandle(v.workflowId);
      // Operators see it in the Web UI (Stuck = true) while the database, and with it the stuck list, is away.
      await eventually(async () => (await handle.describe()).typedSearchAttributes.get(STUCK_SA.reason), (r) => r === 'Unavailable', 'StuckReason = Unavailable');
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await sys.proxy!.restore();
      restored = true;
    } finally {
      if (!restored) await sys.proxy!.restore();
    }
    const [cp] = await sys.db.select().from(scanCheckpoints).where(eq(scanCheckpoints.scanKey, scanKey));
    const resumeFrom = (cp!.checkpoint as unknown as Checkpoint).fileOffset;
    expect(resumeFrom).toBeGreaterThan(0);
    expect(resumeFrom).toBeLessThan(size);

    // Back: the stuck row is written, supervisors alerted, and still no verdict for the seller.
    const item = await eventually(() => stuckItem(v.workflowId), (i) => i !== undefined, 'the stuck list');
    expect(item).toMatchObject({ workflowType: 'imageAssetScan', subjectId: v.id, step: 'scan', failureType: 'Unavailable', resolvedAt: null });
    await eventually(async () => sys.inbox.mails.some((m) => m.subject.includes(`${v.workflowId} is stuck`)), (ok) => ok, 'the supervisors\' alert');
    expect((await version(v.id)).status).toBe('scanning');
    expect(await toldSeller('2.0.0')).toEqual([]);
    const retried = await sys.call('POST', `/v1/stuck-processes/${v.workflowId}/retry`, { key: operator.key, body: {} });
    expect([200, 202]).toContain(retried.status);
    if (retried.status === 200) expect(retried.json).toEqual({ resolved: true, stuck: null });
    const done = await eventually(() => sys.call('GET', `/v1/assets/${assetId}/versions/2.0.0`, { key: seller.key }), (r) => r.json.status !== 'scanning', 'the verdict', 120_000);
    expect(done.json).toMatchObject({ status: 'rejected', summary: { byRule: { 'authorized-keys': 1, 'private-key': 1 } } });
    expect((await sys.call('GET', `/v1/stuck-processes/${v.workflowId}`, { key: operator.key })).json).toMatchObject({ resolvedBy: operator.id, resolvedAt: expect.any(String) });

    // The retry read the stored archive from the checkpoint on, not from the start.
    const attempts = await sys.db.select().from(scanAttempts).where(eq(scanAttempts.scanKey, scanKey)).orderBy(asc(scanAttempts.attempt));
    expect(attempts[0]).toMatchObject({ attempt: 1, fromFileOffset: 0, finishedAt: null });
    const last = attempts.at(-1)!;
    expect(last.attempt).toBe(attempts.length);
    expect(last).toMatchObject({ fromFileOffset: resumeFrom, bytesRead: size - resumeFrom });
    expect(last.finishedAt).not.toBeNull();
    await eventually(() => toldSeller('2.0.0'), (t) => t.some((m) => 'subject' in m && m.subject.includes('failed the security scan')), 'the seller told of the rejection');
  });
});
