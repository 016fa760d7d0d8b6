import { authorizedKeysRule } from './authorized-keys';
import { cloudCredentialsRule } from './cloud-credentials';
import { malware } from './malware';
import { presetPassword } from './preset-password';
import { privateKey } from './private-key';
import { shellHistorySecret } from './shell-history-secret';
import type { Rule } from './types';
import { vulnerablePackage } from './vulnerable-package';
import { weakPasswordPolicy } from './weak-password-policy';

export * from './types';

/** Every rule of the image security standard (koogallery-spec §6.2), in report order. */
export const RULES: Rule<any>[] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
  malware, presetPassword, authorizedKeysRule, privateKey, cloudCredentialsRule, shellHistorySecret, vulnerablePackage, weakPasswordPolicy,
];
