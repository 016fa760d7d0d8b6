import type { Finding, Rule } from './types';
import { isFile, mask, wholeFile } from './util';

/**
 * `preset-password`: an account in /etc/shadow that can log in with a password, because it has a
 * usable hash or an empty password field. Locked (`!…`), disabled (`*`) and unset (`!!`) entries pass.
 */
export function presetPasswords(shadow: string, path: string): Finding[] {
  const found: Finding[] = [];
  for (const line of shadow.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [user, hash] = line.split(':');
    if (user === undefined || hash === undefined) continue;
    if (hash === '') {
      found.push({ rule: 'preset-password', path, severity: 'critical', blocking: true, evidence: `${user}: empty password (login without a password)` });
    } else if (!hash.startsWith('!') && !hash.startsWith('*') && hash !== 'x') {
      const scheme = /^\$([^$]+)\$/.exec(hash)?.[1];
      found.push({ rule: 'preset-password', path, severity: 'critical', blocking: true, evidence: `${user}: password hash ${scheme ? `$${scheme}$` : ''}${mask(hash.replace(/^\$[^$]+\$/, ''))}` });
    }
  }
  return found;
}

export const presetPassword: Rule<Record<string, never>> = {
  id: 'preset-password',
  init: () => ({}),
  open: (e) => (isFile(e) && e.path === '/etc/shadow' ? wholeFile(4 << 20, (t) => presetPasswords(t, e.path)) : null),
};
