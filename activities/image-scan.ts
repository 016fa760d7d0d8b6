import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { ArtifactNotFound, createArtifactStore, type ArtifactStore } from '../artifacts';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { imageAssetVersions, malwareDigests, scanAttempts, scanCheckpoints, vulnerabilities, vulnerabilityPackages } from '../db/schema';
import { createClamavClient, parseClamdAddress } from '../scan/clamav';
import { scanArchive, type Checkpoint } from '../scan/engine';
import { GzipFormatError } from '../scan/gunzip';
import type { Finding, OsvRecord, ScanContext } from '../scan/rules';
import { summarize } from '../scan/report';
import { TarFormatError } from '../scan/tar-reader';
import type { ScanSummary } from '../workflows/image-asset-messages';

/** The scan's view of the outside: digests and feed from the database, ClamAV when configured. */
export async function scanContext(db: Db, config: Pick<Config, 'CLAMD_ADDRESS' | 'CLAMAV_MAX_FILE_BYTES'>): Promise<ScanContext> {
  const digests = await db.select().from(malwareDigests);
  return {
    malwareDigests: new Map(digests.map((d) => [d.sha256, d.name])),
    clamav: config.CLAMD_ADDRESS ? createClamavClient(parseClamdAddress(config.CLAMD_ADDRESS), { maxFileBytes: config.CLAMAV_MAX_FILE_BYTES }) : null,
    async vulnerabilities({ ecosystem, names }) {
      if (names.length === 0) return [];
      const rows = await db.selectDistinct({ record: vulnerabilities.record }).from(vulnerabilityPackages)
        .innerJoin(vulnerabilities, eq(vulnerabilities.id, vulnerabilityPackages.vulnerabilityId))
        .where(and(eq(vulnerabilityPackages.ecosystem, ecosystem), inArray(vulnerabilityPackages.name, names)));
      return rows.map((r) => r.record as unknown as OsvRecord);
    },
  };
}

/** Side effects of the image-asset scan workflow. */
export function createImageScanActivities({ db, config, artifacts }: { db: Db; config: Config; artifacts?: ArtifactStore }) {
  const store = artifacts ?? createArtifactStore(config);
  return {
    /**
     * Streams the version's archive through every rule. Heartbeats carry the byte offset of the last
     * checkpoint (the checkpoint itself, with rule state and gzip window, is in `scan_checkpoints`); a
     * retry after a worker died resumes there. Writes the report; returns its summary.
     */
    async scanImageVersion(a: { versionId: string; scanNo: number; checkpointEveryMs: number }): Promise<ScanSummary> {
      const ctx = Context.current();
      const scanKey = `${a.versionId}:${a.scanNo}`;
      const [v] = await db.select().from(imageAssetVersions).where(eq(imageAssetVersions.id, a.versionId));
      if (!v) throw ApplicationFailure.nonRetryable(`image version ${a.versionId} not found`, 'VersionNotFound');
      const [saved] = await db.select().from(scanCheckpoints).where(eq(scanCheckpoints.scanKey, scanKey));
      const resume = (saved?.checkpoint ?? null) as Checkpoint | null;
      // Numbered per scan, not by Temporal's attempt: a stuck scan's re-check is a new activity whose attempts count from 1 again.
      const [started] = await db.insert(scanAttempts).values({
        scanKey, attempt: sql`(select coalesce(max(${scanAttempts.attempt}), 0) + 1 from ${scanAttempts} where ${scanAttempts.scanKey} = ${scanKey})`,
        fromFileOffset: resume?.fileOffset ?? 0, fromTarOffset: resume?.tarOffset ?? 0,
      }).returning({ id: scanAttempts.id });
      const attempt = eq(scanAttempts.id, started!.id);
      // Heartbeats between checkpoints too, so a long entry never looks like a dead worker.
      const beat = setInterval(() => ctx.heartbeat({ fileOffset: resume?.fileOffset ?? 0, resumedFrom: resume?.fileOffset ?? 0 }), Math.max(1000, a.checkpointEveryMs / 2));
      const scanCtx = await scanContext(db, config);
      let result;
      try {
        result = await scanArchive({
          store, key: v.artifactKey, compression: v.compression, ctx: scanCtx, resume,
          checkpointEveryMs: a.checkpointEveryMs, signal: ctx.cancellationSignal,
          async onCheckpoint(cp, progress) {
            await db.insert(scanCheckpoints).values({ scanKey, versionId: a.versionId, checkpoint: cp as unknown as Record<string, unknown>, updatedAt: new Date() })
              .onConflictDoUpdate({ target: scanCheckpoints.scanKey, set: { checkpoint: cp as unknown as Record<string, unknown>, updatedAt: new Date() } });
            await db.update(scanAttempts).set({ bytesRead: progress.bytesRead }).where(attempt);
            ctx.heartbeat({ fileOffset: cp.fileOffset, tarOffset: cp.tarOffset, entries: cp.entries, readTo: progress.fileOffset });
          },
        });
      } catch (e) {
        // The archive was checked at upload: one that does not parse now is damaged in the store. Retrying cannot help.
        if (e instanceof TarFormatError || e instanceof GzipFormatError) throw ApplicationFailure.nonRetryable(`the stored archive cannot be read: ${e.message}`, 'ArchiveUnreadable');
        // Gone from the store: retrying cannot bring it back, an operator can (restore it, then retry the stuck scan).
        if (e instanceof ArtifactNotFound) throw ApplicationFailure.nonRetryable(`the stored archive is missing: ${e.message}`, 'ArchiveMissing');
        throw e;
      } finally {
        clearInterval(beat);
      }
      const summary = summarize(result.findings, result.entries, scanCtx.clamav !== null);
      await db.transaction(async (tx) => {
        await tx.update(imageAssetVersions).set({ findings: result.findings as unknown as Record<string, unknown>[], summary: summary as unknown as Record<string, unknown>, scannedAt: new Date(), updatedAt: new Date() })
          .where(eq(imageAssetVersions.id, a.versionId));
        await tx.update(scanAttempts).set({ bytesRead: result.bytesRead, finishedAt: new Date() }).where(attempt);
        await tx.delete(scanCheckpoints).where(eq(scanCheckpoints.scanKey, scanKey));
      });
      return summary;
    },

    /** Moves the version to its outcome; a rescan that rejects an approved version flags it. Idempotent. */
    async recordScanOutcome(a: { versionId: string; scanNo: number; outcome: 'approved' | 'rejected'; at: number }): Promise<{ flagged: boolean }> {
      const [v] = await db.select().from(imageAssetVersions).where(eq(imageAssetVersions.id, a.versionId));
      if (!v) throw ApplicationFailure.nonRetryable(`image version ${a.versionId} not found`, 'VersionNotFound');
      const at = new Date(a.at);
      // A retried write sees its own outcome already there; the flag is kept from the first write.
      const flagged = a.scanNo > 1 && a.outcome === 'rejected' && (v.status === 'approved' || (v.flaggedAt?.getTime() === at.getTime()));
      await db.update(imageAssetVersions).set({ status: a.outcome, ...(flagged ? { flaggedAt: at } : {}), updatedAt: at })
        .where(and(eq(imageAssetVersions.id, a.versionId), eq(imageAssetVersions.scanNo, a.scanNo)));
      return { flagged };
    },
  };
}

export type ImageScanActivities = ReturnType<typeof createImageScanActivities>;
export type { Finding };
