import type { Rule } from './types';
import { isFile, StreamSearch } from './util';

/**
 * `private-key`: a PEM or OpenSSH private key anywhere in the tree (any file name), found by its
 * armour line `-----BEGIN … PRIVATE KEY-----`. Host keys count too: an image that ships them gives
 * every instance the same host key.
 */
export const privateKey: Rule<Record<string, never>> = {
  id: 'private-key',
  init: () => ({}),
  open(entry) {
    if (!isFile(entry) || entry.size < 40) return null;
    const search = new StreamSearch(Buffer.from('PRIVATE KEY-----'), 40, 12);
    return {
      write: (chunk) => search.write(chunk),
      end() {
        search.end();
        const hit = search.hits[0];
        if (!hit) return [];
        const begin = /-----BEGIN ([A-Z0-9 ]*)$/.exec(hit.before.toString('latin1'));
        if (!begin) return [];
        const body = hit.after.toString('latin1').replace(/\s+/g, '');
        return [{ rule: 'private-key', path: entry.path, severity: 'critical', blocking: true, evidence: `-----BEGIN ${begin[1]}PRIVATE KEY----- ${body.slice(0, 4)}…` }];
      },
    };
  },
};
