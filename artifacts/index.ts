import type { Config } from '../config';
import { createDiskStore } from './disk';
import { createS3Store } from './s3';
import type { ArtifactStore } from './store';

export * from './store';

/** The store the configuration names: a directory by default, an S3-compatible bucket when ARTIFACT_STORE=s3. */
export function createArtifactStore(config: Pick<Config, 'ARTIFACT_STORE' | 'ARTIFACT_DIR' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_BUCKET' | 'S3_PREFIX' | 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY' | 'S3_FORCE_PATH_STYLE'>): ArtifactStore {
  if (config.ARTIFACT_STORE === 'disk') return createDiskStore(config.ARTIFACT_DIR);
  return createS3Store({
    bucket: config.S3_BUCKET!,
    ...(config.S3_PREFIX ? { prefix: config.S3_PREFIX } : {}),
    client: {
      region: config.S3_REGION,
      ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      // Without explicit keys the SDK's own chain applies (environment, instance role).
      ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
        ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } } : {}),
    },
  });
}
