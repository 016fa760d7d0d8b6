import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc, eq } from 'drizzle-orm';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskStore } from '../../artifacts/disk';
import { imageAssets, imageAssetVersions, merchants, principals, scanAttempts, scanCheckpoints } from '../../db/schema';
import { newId } from '../../domain/ids';
import type { Checkpoint } from '../../scan/engine';
import { imageAssetWorkflowId, type ImageAssetScanInput, type ImageAssetScanState } from '../../workflows/image-asset-messages';
import { TEST_MASTER_KEY } from '../support/catalog';
import { freshDatabase } from '../support/db';
import { expectHistoryWithin } from '../support/history';
import { recordHistory } from '../support/replay';
import { imageWith, writeLargeArchive } from '../support/images';
import { startTimeSkipping } from '../support/time-skipping';

/** docs/image-assets.md: a scan's history, however large the archive and however often its worker dies. */
const IMAGE_SCAN_HISTORY_BOUND = 30;

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
});

let env: TestWorkflowEnvironment;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let port: number;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  port = await freePort();
  env = await startTimeSkipping(port);
  database = await freshDatabase();
  dir = await mkdtemp(join(tmpdir(), 'scan-kill-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.pid) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
  await env?.teardown();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The real worker as its own OS process (`tsx main.ts`), so the test can kill it outright. */
function startWorkerProcess(taskQueue: string, extraEnv: Record<string, string> = {}): ChildProcess {
  const child = spawn('npx', ['tsx', 'main.ts'], {
    detached: true, stdio: 'ignore',
    env: {
      ...process.env, RUN_API: 'false', RUN_WORKER: 'true', CREATE_SCHEDULES: 'false', DATABASE_URL: database.url, ARTIFACT_DIR: join(dir, 'store'),
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_TASK_QUEUE: taskQueue, MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'silent', ...extraEnv,
    },
  });
  children.push(child);
  return child;
}

describe('a worker killed in the middle of a scan', () => {
  it('resumes from its last heartbeat checkpoint and does not read the archive from the start again', async () => {
    const { db } = database;
    // ~400 MiB of root file system, gzip-compressed: a finding at the front, one at the very end.
    const file = join(dir, 'image.tar.gz');
    const { size } = await writeLargeArchive(file, {
      files: imageWith({ path: 'root/.ssh/authorized_keys', content: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKill kill@test\n' }),
      fillerFiles: 400, fillerBytes: 1024 * 1024,
      tail: [{ path: 'srv/late/deploy_key', content: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n' }],
      compression: 'gzip',
    });
    const key = 'images/kill/1.0/image.archive';
    await createDiskStore(join(dir, 'store')).put(key, createReadStream(file));
    await rm(file);

    const owner = newId('P', 12);
    const merchantId = newId('M', 12);
    const assetId = newId('IA', 14);
    const versionId = newId('IV', 16);
    await db.insert(principals).values({ id: owner, role: 'buyer', name: 'Owner' });
    await db.insert(merchants).values({ id: merchantId, ownerPrincipalId: owner, status: 'active', onboardingApplicationId: 'MA-test', profile: {} });
    await db.insert(imageAssets).values({ id: assetId, merchantId, name: 'Big image', os: 'Debian 12', regions: ['cn-north-4'], securityGroup: {}, createdBy: owner });
    await db.insert(imageAssetVersions).values({
      id: versionId, assetId, version: '1.0', status: 'scanning', artifactKey: key, compression: 'gzip', sizeBytes: size, sha256: 'x'.repeat(64),
      uploadedBy: owner, workflowId: imageAssetWorkflowId(assetId, '1.0'),
    });

    const taskQueue = `scan-kill-${newId('', 6)}`;
    // Without a cache the first worker leaves no sticky queue behind that only it could serve.
    const first = startWorkerProcess(taskQueue, { WORKER_MAX_CACHED_WORKFLOWS: '0' });
    const input: ImageAssetScanInput = { versionId, assetId, version: '1.0', merchantId, scanNo: 1, heartbeatTimeoutMs: 5000, checkpointEveryMs: 200 };
    const handle = await env.client.workflow.start('imageAssetScan', { workflowId: imageAssetWorkflowId(assetId, '1.0'), taskQueue, args: [input] });

    // Wait for a checkpoint past the start of the file, then kill the worker outright.
    let seen: Checkpoint | null = null;
    for (let i = 0; i < 1200 && !seen; i++) {
      const [row] = await db.select().from(scanCheckpoints).where(eq(scanCheckpoints.versionId, versionId));
      const cp = row?.checkpoint as unknown as Checkpoint | undefined;
      if (cp && cp.fileOffset > 0) seen = cp;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen, 'a checkpoint before the kill').not.toBeNull();
    process.kill(-first.pid!, 'SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const [atKill] = await db.select().from(scanCheckpoints).where(eq(scanCheckpoints.versionId, versionId));
    const resumeFrom = (atKill!.checkpoint as unknown as Checkpoint).fileOffset;
    expect(resumeFrom).toBeGreaterThan(0);
    expect(resumeFrom).toBeLessThan(size);

    startWorkerProcess(taskQueue);
    const result: ImageAssetScanState = await handle.result();

    // The whole image was judged: the finding before the kill and the one after it.
    expect(result).toMatchObject({ status: 'rejected', summary: { outcome: 'rejected', byRule: { 'authorized-keys': 1, 'private-key': 1 } } });
    const attempts = await db.select().from(scanAttempts).where(eq(scanAttempts.scanKey, `${versionId}:1`)).orderBy(asc(scanAttempts.attempt));
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts[0]).toMatchObject({ attempt: 1, fromFileOffset: 0, finishedAt: null });
    const last = attempts.at(-1)!;
    // The retry started where the last checkpoint was, read from there to the end, and nothing before it.
    expect(last.fromFileOffset).toBe(resumeFrom);
    expect(last.bytesRead).toBe(size - resumeFrom);
    expect(last.finishedAt).not.toBeNull();
    expect(await db.select().from(scanCheckpoints).where(eq(scanCheckpoints.versionId, versionId))).toEqual([]);
    const [v] = await db.select().from(imageAssetVersions).where(eq(imageAssetVersions.id, versionId));
    expect(v).toMatchObject({ status: 'rejected' });
    // The written bound (docs/image-assets.md): a killed attempt and its retry add nothing to the history.
    await expectHistoryWithin(env.client, handle, IMAGE_SCAN_HISTORY_BOUND);
    await recordHistory(handle, 'killed-and-resumed');
  });
});
