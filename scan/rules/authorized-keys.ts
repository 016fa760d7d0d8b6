import type { Finding, Rule } from './types';
import { isFile, wholeFile } from './util';

const KEY_TYPE = /(?:^|\s)((?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+)\s+([A-Za-z0-9+/=]{16,})(?:\s+(.*))?$/;

/** `authorized-keys`: an authorized_keys or authorized_keys2 file, for any user, that holds a key. */
export function authorizedKeys(text: string, path: string): Finding[] {
  const found: Finding[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = KEY_TYPE.exec(line);
    const evidence = m ? `${m[1]} ${m[2]!.slice(0, 8)}…(${m[2]!.length} chars)${m[3] ? ` ${m[3].slice(0, 40)}` : ''}` : `unrecognised key line (${line.length} chars)`;
    found.push({ rule: 'authorized-keys', path, severity: 'high', blocking: true, evidence });
  }
  return found;
}

export const authorizedKeysRule: Rule<Record<string, never>> = {
  id: 'authorized-keys',
  init: () => ({}),
  open: (e) => (isFile(e) && /\/authorized_keys2?$/.test(e.path) ? wholeFile(4 << 20, (t) => authorizedKeys(t, e.path)) : null),
};
