import type { Finding, Rule } from './types';
import { isFile, mask, wholeFile } from './util';

const AWS_KEY_ID = /\b((?:AKIA|ASIA)[0-9A-Z]{16})\b/;
const AWS_SECRET = /aws_secret_access_key\s*[=:]\s*["']?([A-Za-z0-9/+=]{40})/i;
const HUAWEI_AK = /(?:HUAWEICLOUD_SDK_AK|HW_ACCESS_KEY|OBS_ACCESS_KEY_ID|\baccess_?key(?:_?id)?\b|"access(?:KeyId)?")\s*["']?\s*[=:]\s*["']?([A-Z0-9]{20})\b/i;
const HUAWEI_SK = /(?:HUAWEICLOUD_SDK_SK|HW_SECRET_KEY|OBS_SECRET_ACCESS_KEY|\bsecret_?(?:access_?)?key\b|"secret(?:AccessKey)?")\s*["']?\s*[=:]\s*["']?([A-Za-z0-9]{40})\b/i;
const HUAWEI_CSV = /^(?:User Name,)?Access Key Id,Secret Access Key/im;
const GCP_SA = /"type"\s*:\s*"service_account"/;
const GCP_KEY = /"private_key_id"\s*:\s*"([0-9a-f]{40})"/;

/** Where the rule looks: small files outside the package-managed system trees. */
const SYSTEM = /^\/(?:usr\/(?!local\/)|lib|lib32|lib64|bin|sbin|boot|proc|sys|dev|var\/lib\/dpkg|var\/lib\/apk|var\/cache)\b/;
const MAX = 256 * 1024;

/**
 * `cloud-credentials`: credential files and access-key pairs of AWS (key id with its secret, or an
 * `aws_secret_access_key` line), Huawei Cloud (AK/SK pair, or the console's credentials.csv) and
 * GCP (service-account JSON with its private key).
 */
export function cloudCredentials(text: string, path: string): Finding[] {
  const found: Finding[] = [];
  const add = (evidence: string) => found.push({ rule: 'cloud-credentials', path, severity: 'critical', blocking: true, evidence });
  const awsId = AWS_KEY_ID.exec(text)?.[1];
  const awsSecret = AWS_SECRET.exec(text)?.[1];
  if (awsSecret) add(`AWS secret access key ${mask(awsSecret)}${awsId ? ` for key id ${mask(awsId)}` : ''}`);
  else if (awsId && /[A-Za-z0-9/+]{40}/.test(text.replace(awsId, ''))) add(`AWS access key pair, key id ${mask(awsId)}`);
  if (HUAWEI_CSV.test(text)) {
    add('Huawei Cloud access key file (credentials.csv)');
  } else {
    const ak = HUAWEI_AK.exec(text)?.[1];
    const sk = HUAWEI_SK.exec(text)?.[1];
    if (ak && sk) add(`Huawei Cloud AK/SK pair, AK ${mask(ak)}, SK ${mask(sk)}`);
  }
  if (GCP_SA.test(text) && text.includes('PRIVATE KEY')) {
    const id = GCP_KEY.exec(text)?.[1];
    add(`GCP service account key${id ? ` ${mask(id)}` : ''}`);
  }
  return found;
}

export const cloudCredentialsRule: Rule<Record<string, never>> = {
  id: 'cloud-credentials',
  init: () => ({}),
  open: (e) => (isFile(e) && e.size <= MAX && !SYSTEM.test(e.path) ? wholeFile(MAX, (t) => cloudCredentials(t, e.path)) : null),
};
