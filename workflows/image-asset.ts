import { proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ImageScanActivities } from '../activities/image-scan';
import type { NotifyActivities } from '../activities/notify';
import { DB_WRITES, notifications } from './activity-options';
import { SA } from './merchant-review-messages';
import { IMAGE_SA, imageScanStateQuery, type ImageAssetScanInput, type ImageAssetScanState } from './image-asset-messages';

const db = proxyActivities<ImageScanActivities>(DB_WRITES);
const notify = proxyActivities<NotifyActivities>(notifications('24 hours'));

/**
 * The security scan of one uploaded image version (docs/image-assets.md): one heartbeating activity
 * streams the archive through every rule, checkpointing as it goes, and a retry after a worker dies
 * resumes from the last checkpoint. Then the outcome is written and the seller told.
 * History: a fixed 8 to 10 events per scan, plus 2 per failed activity attempt (only the last attempt
 * of a retried activity is recorded), so it stays small whatever the archive's size.
 */
export async function imageAssetScan(input: ImageAssetScanInput): Promise<ImageAssetScanState> {
  const state: ImageAssetScanState = { versionId: input.versionId, scanNo: input.scanNo, status: 'scanning', summary: null, flagged: false };
  setHandler(imageScanStateQuery, () => state);
  const publish = () => {
    upsertSearchAttributes([{ key: IMAGE_SA.status, value: state.status }, { key: IMAGE_SA.assetId, value: input.assetId }, { key: SA.merchantId, value: input.merchantId }]);
    setCurrentDetails(`**${state.status}** · ${input.assetId} ${input.version} · scan ${input.scanNo}${state.summary ? ` · ${state.summary.blocking} blocking of ${state.summary.findings} findings` : ''}`);
  };
  publish();

  const scan = proxyActivities<ImageScanActivities>({
    // The archive may be many GiB: no overall limit, but a dead worker is noticed within a heartbeat timeout.
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: input.heartbeatTimeoutMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['ArchiveUnreadable'] },
  });
  state.summary = await scan.scanImageVersion({ versionId: input.versionId, scanNo: input.scanNo, checkpointEveryMs: input.checkpointEveryMs });
  const { flagged } = await db.recordScanOutcome({ versionId: input.versionId, scanNo: input.scanNo, outcome: state.summary.outcome, at: Date.now() });
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
