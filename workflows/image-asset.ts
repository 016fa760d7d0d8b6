import { proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ImageScanActivities } from '../activities/image-scan';
import type { NotifyActivities } from '../activities/notify';
import { DB_WRITES, notifications } from './activity-options';
import { createStuckGuard } from './stuck';
import { SA } from './merchant-review-messages';
import { IMAGE_SA, imageScanStateQuery, type ImageAssetScanInput, type ImageAssetScanState } from './image-asset-messages';

const db = proxyActivities<ImageScanActivities>(DB_WRITES);
const notify = proxyActivities<NotifyActivities>(notifications('24 hours'));

/**
 * The security scan of one uploaded image version (docs/image-assets.md): one heartbeating activity
 * streams the archive through every rule, checkpointing as it goes, and a retry after a worker dies
 * resumes from the last checkpoint. Then the outcome is written and the seller told.
 * History: about 20 events per scan whatever the archive's size (a retried activity records only its last
 * attempt); a stuck step adds a few events per re-check (5 min doubling to 6 h).
 */
export async function imageAssetScan(input: ImageAssetScanInput): Promise<ImageAssetScanState> {
  const state: ImageAssetScanState = { versionId: input.versionId, scanNo: input.scanNo, status: 'scanning', summary: null, flagged: false };
  setHandler(imageScanStateQuery, () => state, { description: 'The scan: scanning, approved or rejected, with its summary once done.' });
  const publish = () => {
    upsertSearchAttributes([{ key: IMAGE_SA.status, value: state.status }, { key: IMAGE_SA.assetId, value: input.assetId }, { key: SA.merchantId, value: input.merchantId }]);
    const stuck = guard.current();
    setCurrentDetails(`**${state.status}** · ${input.assetId} ${input.version} · scan ${input.scanNo}${state.summary ? ` · ${state.summary.blocking} blocking of ${state.summary.findings} findings` : ''}${stuck ? ` · **stuck** in ${stuck.step}: ${stuck.failureType}` : ''}`);
  };
  // Our own faults (an archive damaged in the store, a database away for long) hold the scan in `stuck` for
  // operators (docs/durable-patterns.md); the seller is not told of a failure that is not theirs.
  const guard = createStuckGuard({ subjectId: input.versionId, onChange: () => publish() });
  publish();

  const scan = proxyActivities<ImageScanActivities>({
    // The archive may be many GiB: no overall limit, but a dead worker is noticed within a heartbeat timeout.
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: input.heartbeatTimeoutMs,
    // Bounded, so that a database or store away for long shows as `stuck` instead of retrying unseen forever;
    // each attempt resumes from the last checkpoint, and so does the guard's re-check after it.
    retry: {
      initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: input.maxAttempts ?? 16,
      nonRetryableErrorTypes: ['ArchiveUnreadable', 'ArchiveMissing'],
    },
  });
  state.summary = await guard.run('scan', () => scan.scanImageVersion({ versionId: input.versionId, scanNo: input.scanNo, checkpointEveryMs: input.checkpointEveryMs }));
  const outcome = state.summary.outcome;
  const at = Date.now();
  const { flagged } = await guard.run('recordScanOutcome', () => db.recordScanOutcome({ versionId: input.versionId, scanNo: input.scanNo, outcome, at }));
  state.status = state.summary.outcome;
  state.flagged = flagged;
  publish();

  // Rescans that change nothing stay quiet; a first scan and a newly failing rescan are told.
  if (input.scanNo === 1 || flagged) {
    const template = flagged ? 'asset.flagged' : `asset.${state.status}`;
    await notify.notifyParty({
      dedupeKey: `${input.versionId}:s${input.scanNo}:${template}`, party: { kind: 'merchant', merchantId: input.merchantId }, template,
      vars: { assetId: input.assetId, version: input.version, findings: state.summary.findings, blocking: state.summary.blocking, rules: Object.keys(state.summary.byRule) },
    }).catch(() => undefined);
  }
  return state;
}
