import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Request } from 'express';
import type { Logger } from 'pino';
import { createArtifactStore, type ArtifactStore } from '../artifacts';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { isUniqueViolation } from '../db/errors';
import { imageAssets, imageAssetVersions, malwareDigests, vulnerabilities, vulnerabilityPackages } from '../db/schema';
import { markStarted, notStarted, SWEEP_GRACE_MS } from '../db/workflow-started';
import { newId } from '../domain/ids';
import { safeError } from '../observability/safe-error';
import type { Finding } from '../scan/rules';
import { SA } from '../workflows/merchant-review-messages';
import { IMAGE_SA, imageAssetWorkflowId, imageScanStateQuery, type ImageAssetScanInput, type ScanSummary } from '../workflows/image-asset-messages';
import type { Principal } from './auth';
import { keyset, sortKey, type PageQuery } from './pagination';
import { conflict, notFound } from './problem';
import { storeUpload } from './image-uploads';
import { withTemporalDeadline } from './updates';

export const assetPages = keyset<typeof imageAssets.$inferSelect>('desc', [sortKey.instant(imageAssets.createdAt, (a) => a.createdAt), sortKey.text(imageAssets.id, (a) => a.id)]);
export const digestPages = keyset<typeof malwareDigests.$inferSelect>('asc', [sortKey.instant(malwareDigests.addedAt, (d) => d.addedAt), sortKey.text(malwareDigests.sha256, (d) => d.sha256)]);

type Asset = typeof imageAssets.$inferSelect;
type Version = typeof imageAssetVersions.$inferSelect;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const versionView = (v: Version) => ({
  assetId: v.assetId, version: v.version, status: v.status, sizeBytes: v.sizeBytes, sha256: v.sha256, compression: v.compression,
  scanNo: v.scanNo, summary: (v.summary ?? null) as ScanSummary | null, scannedAt: iso(v.scannedAt), flaggedAt: iso(v.flaggedAt),
  workflowId: v.workflowId, createdAt: v.createdAt.toISOString(),
});
export const assetView = (a: Asset, versions: Version[] = []) => ({
  id: a.id, merchantId: a.merchantId, name: a.name, os: a.os, regions: a.regions, securityGroup: a.securityGroup,
  createdAt: a.createdAt.toISOString(), versions: versions.map(versionView),
});

/** An OSV record as the feed endpoint takes it: enough to index, the rest kept as sent. */
export interface OsvInput { id: string; modified?: string; affected?: { package?: { ecosystem?: string; name?: string } }[] }

/**
 * Image assets as the API drives them: creation, streaming upload of versions into the artifact store,
 * the scan workflow's intake (the version row is the record, decision 008), reports, and the operators'
 * malware digests, vulnerability feed and rescans.
 */
export function createImageService({ db, temporal, config, logger, artifacts }: { db: Db; temporal: Client; config: Config; logger?: Logger; artifacts?: ArtifactStore }) {
  const store = artifacts ?? createArtifactStore(config);

  /**
   * Starts the scan of a version's current scan number. One scan runs per version at a time: if an older
   * one is still finishing (a rescan right after a scan), `wait` waits a little for it; otherwise the row
   * stays unstarted and the sweep starts it later.
   */
  async function start(v: Version, merchantId: string, wait = false) {
    const input: ImageAssetScanInput = {
      versionId: v.id, assetId: v.assetId, version: v.version, merchantId, scanNo: v.scanNo,
      heartbeatTimeoutMs: config.SCAN_HEARTBEAT_TIMEOUT_MS, checkpointEveryMs: config.SCAN_CHECKPOINT_MS,
      maxAttempts: config.SCAN_MAX_ATTEMPTS,
    };
    for (let tries = 0; ; tries++) {
      try {
        await withTemporalDeadline(temporal, () => temporal.workflow.start('imageAssetScan', {
          workflowId: v.workflowId, taskQueue: config.TEMPORAL_TASK_QUEUE, args: [input],
          // A closed scan may be followed by a rescan under the same id; a running one is never replaced.
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL, workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          staticSummary: `Security scan of image ${v.assetId} version ${v.version}${v.scanNo > 1 ? ` (rescan ${v.scanNo - 1})` : ''}`,
          typedSearchAttributes: [{ key: IMAGE_SA.status, value: 'scanning' }, { key: IMAGE_SA.assetId, value: v.assetId }, { key: SA.merchantId, value: merchantId }],
        }));
        break;
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
        const handle = temporal.workflow.getHandle(v.workflowId);
        const running = await withTemporalDeadline(temporal, () => handle.query(imageScanStateQuery)).catch(() => null);
        // Started already by the API, the sweep or a replayed request: it is this scan.
        if (running?.scanNo === v.scanNo) break;
        if (!wait || tries > 0) return;
        await Promise.race([handle.result().catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
      }
    }
    await markStarted(db, imageAssetVersions, v.id, new Date());
  }

  async function visibleAsset(p: Principal, id: string): Promise<Asset> {
    const [a] = await db.select().from(imageAssets).where(eq(imageAssets.id, id));
    if (!a || !(p.role === 'operator' || (p.role === 'seller' && p.merchantId === a.merchantId))) throw notFound(`asset ${id}`);
    return a;
  }
  async function version(assetId: string, v: string): Promise<Version | undefined> {
    const [row] = await db.select().from(imageAssetVersions).where(and(eq(imageAssetVersions.assetId, assetId), eq(imageAssetVersions.version, v)));
    return row;
  }
  const versions = (assetId: string) => db.select().from(imageAssetVersions).where(eq(imageAssetVersions.assetId, assetId)).orderBy(asc(imageAssetVersions.createdAt));

  return {
    store, visibleAsset, version, versions,

    async createAsset(p: Principal, body: { name: string; os: string; regions: string[]; securityGroup: Record<string, unknown> }) {
      const [a] = await db.insert(imageAssets).values({ id: newId('IA', 14), merchantId: p.merchantId!, createdBy: p.id, ...body }).returning();
      return a!;
    },

    listAssets: (p: Principal, q: PageQuery) => assetPages.read(q, ({ after, orderBy, limit }) => db.select().from(imageAssets)
      .where(and(p.role === 'operator' ? undefined : eq(imageAssets.merchantId, p.merchantId ?? ''), after)).orderBy(...orderBy).limit(limit)),

    /**
     * Streams a version's archive into the store, then records it and starts its scan. A refused upload
     * (too large, not tar, truncated, abandoned) leaves no object and no row.
     */
    async upload(p: Principal, assetId: string, v: string, req: Request) {
      const asset = await visibleAsset(p, assetId);
      if (await version(assetId, v)) throw conflict(`asset ${assetId} already has a version ${v}; upload a new version`);
      const key = `images/${assetId}/${v}/${newId('UP', 16)}.archive`;
      const stored = await storeUpload(store, key, req, { maxBytes: config.IMAGE_MAX_BYTES, idleMs: config.UPLOAD_IDLE_TIMEOUT_MS });
      let row: Version;
      try {
        [row] = (await db.insert(imageAssetVersions).values({
          id: newId('IV', 16), assetId, version: v, status: 'scanning', artifactKey: key, compression: stored.compression,
          sizeBytes: stored.size, sha256: stored.sha256, uploadedBy: p.id, workflowId: imageAssetWorkflowId(assetId, v),
        }).returning()) as [Version];
      } catch (e) {
        await store.delete(key);
        if (isUniqueViolation(e)) throw conflict(`asset ${assetId} already has a version ${v}`);
        throw e;
      }
      // The scan starts before the answer; if Temporal cannot take it now, the sweep starts it.
      await start(row, asset.merchantId).catch((e: unknown) => logger?.warn({ versionId: row.id, err: safeError(e) }, 'scan not started; the sweep will start it'));
      return (await version(assetId, v))!;
    },

    /** Starts the scans of versions accepted more than `graceMs` ago that have none (api/sweeps.ts). */
    async sweep(graceMs = SWEEP_GRACE_MS) {
      const rows = await db.select({ v: imageAssetVersions, merchantId: imageAssets.merchantId }).from(imageAssetVersions)
        .innerJoin(imageAssets, eq(imageAssets.id, imageAssetVersions.assetId)).where(notStarted(imageAssetVersions, graceMs)).limit(100);
      for (const r of rows) await start(r.v, r.merchantId);
      return rows.length;
    },

    /** Rescans every approved version (after a feed change); returns how many were started. */
    async rescanApproved() {
      const rows = await db.update(imageAssetVersions).set({ scanNo: sql`${imageAssetVersions.scanNo} + 1`, workflowStartedAt: null, updatedAt: new Date() })
        .where(eq(imageAssetVersions.status, 'approved')).returning();
      for (const v of rows) {
        const [a] = await db.select().from(imageAssets).where(eq(imageAssets.id, v.assetId));
        await start(v, a!.merchantId, true).catch((e: unknown) => logger?.warn({ versionId: v.id, err: safeError(e) }, 'rescan not started; the sweep will start it'));
      }
      return rows.length;
    },

    findingsOf: (v: Version) => (v.findings ?? []) as unknown as Finding[],

    async addDigests(p: Principal, list: { sha256: string; name: string }[]) {
      // A digest named twice in one request keeps its last name (one statement cannot update a row twice).
      const unique = [...new Map(list.map((d) => [d.sha256, d])).values()];
      if (unique.length) await db.insert(malwareDigests).values(unique.map((d) => ({ ...d, addedBy: p.id }))).onConflictDoUpdate({ target: malwareDigests.sha256, set: { name: sql`excluded.name` } });
      return db.select().from(malwareDigests).orderBy(asc(malwareDigests.addedAt));
    },
    listDigests: (q: PageQuery) => digestPages.read(q, ({ after, orderBy, limit }) => db.select().from(malwareDigests).where(after).orderBy(...orderBy).limit(limit)),
    removeDigest: (sha256: string) => db.delete(malwareDigests).where(eq(malwareDigests.sha256, sha256)).returning(),

    /** Loads OSV records (a newer `modified` replaces an older copy) and indexes the packages they name. */
    async loadFeed(records: OsvInput[]) {
      let loaded = 0;
      for (let i = 0; i < records.length; i += 500) {
        const batch = records.slice(i, i + 500);
        await db.transaction(async (tx) => {
          for (const r of batch) {
            await tx.insert(vulnerabilities).values({ id: r.id, record: r as unknown as Record<string, unknown>, modified: r.modified ?? null })
              .onConflictDoUpdate({ target: vulnerabilities.id, set: { record: r as unknown as Record<string, unknown>, modified: r.modified ?? null, loadedAt: new Date() } });
            await tx.delete(vulnerabilityPackages).where(eq(vulnerabilityPackages.vulnerabilityId, r.id));
            const pkgs = (r.affected ?? []).filter((a) => a.package?.ecosystem && a.package.name)
              .map((a) => ({ vulnerabilityId: r.id, ecosystem: a.package!.ecosystem!.split(':')[0]!, name: a.package!.name! }));
            if (pkgs.length) await tx.insert(vulnerabilityPackages).values(pkgs).onConflictDoNothing();
            loaded++;
          }
        });
      }
      const [{ n }] = (await db.select({ n: sql<number>`count(*)::int` }).from(vulnerabilities)) as [{ n: number }];
      return { loaded, total: n };
    },
  };
}

export type ImageService = ReturnType<typeof createImageService>;
