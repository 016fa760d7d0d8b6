/**
 * What the API and the image-asset scan workflow share: ids, input, state and search attributes.
 * Imported by workflow code, so it may only use @temporalio/workflow and @temporalio/common.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';

export const IMAGE_ASSET_PREFIX = 'image-asset:';
export const imageAssetWorkflowId = (assetId: string, version: string) => `${IMAGE_ASSET_PREFIX}${assetId}:${version}`;

export type ScanOutcome = 'approved' | 'rejected';
export type ImageScanStatus = 'scanning' | ScanOutcome;

export interface ImageAssetScanInput {
  versionId: string;
  assetId: string;
  version: string;
  merchantId: string;
  /** 1 for the scan after upload; higher for rescans (operators, after a feed change). */
  scanNo: number;
  /** The scan activity's heartbeat timeout and checkpoint interval, from configuration at start. */
  heartbeatTimeoutMs: number;
  checkpointEveryMs: number;
  /** Attempts of the scan activity before the scan goes `stuck` (SCAN_MAX_ATTEMPTS; absent in runs started before it: 16). */
  maxAttempts?: number;
}

export interface ScanSummary {
  outcome: ScanOutcome;
  /** Findings in total and those that reject the image. */
  findings: number;
  blocking: number;
  byRule: Record<string, number>;
  bySeverity: Record<string, number>;
  entries: number;
  /** Whether ClamAV scanned the files (CLAMD_ADDRESS set); without it the malware rule checks digests and EICAR only. */
  clamav: boolean;
}

export interface ImageAssetScanState {
  versionId: string;
  scanNo: number;
  status: ImageScanStatus;
  summary: ScanSummary | null;
  /** A rescan rejected a version that had been approved. */
  flagged: boolean;
}

export const imageScanStateQuery = defineQuery<ImageAssetScanState>('state');

export const IMAGE_SA = {
  status: defineSearchAttributeKey('ImageScanStatus', SearchAttributeType.KEYWORD),
  assetId: defineSearchAttributeKey('ImageAssetId', SearchAttributeType.KEYWORD),
} as const;
