import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Encryption at rest for secrets such as sellers' access keys: AES-256-GCM under a master key,
 * stored as `v2.<keyId>.<iv>.<tag>.<ciphertext>` (base64url; the key id is also the GCM additional
 * data). The key id names the master key, so a new one can be added (MASTER_KEY) while the old ones
 * still open what they sealed (OLD_MASTER_KEYS) until the background re-sealing (db/reseal.ts) is done.
 * `v1.<iv>.<tag>.<ciphertext>` values from before key ids are opened with each key in turn.
 */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
  /** The id of the key that seals. */
  keyId: string;
  /** True when `sealed` is not sealed under the current key (re-seal it). */
  stale(sealed: string): boolean;
}

export function parseMasterKey(text: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new RangeError('the master key must be 32 bytes, as 64 hex characters or base64');
  return key;
}

export const newMasterKey = () => randomBytes(32).toString('base64');

/** A short public name for a key: the first bytes of its SHA-256 (the same in every process). */
export const masterKeyId = (key: Buffer) => `k${createHash('sha256').update(key).digest('hex').slice(0, 10)}`;

const b64 = (b: Buffer) => b.toString('base64url');

function decrypt(key: Buffer, iv: string, tag: string, body: string, aad?: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  if (aad) decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}

export function createSecretBox(masterKey: string, oldMasterKeys: string[] = []): SecretBox {
  const current = parseMasterKey(masterKey);
  const keyId = masterKeyId(current);
  const keys = new Map<string, Buffer>([[keyId, current], ...oldMasterKeys.map((k) => { const b = parseMasterKey(k); return [masterKeyId(b), b] as const; })]);
  return {
    keyId,
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(keyId));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v2', keyId, b64(iv), b64(cipher.getAuthTag()), b64(body)].join('.');
    },
    open(sealed) {
      const parts = sealed.split('.');
      if (parts[0] === 'v2' && parts.length === 5) {
        const key = keys.get(parts[1]!);
        if (!key) throw new Error(`sealed under master key ${parts[1]}, which is not configured`);
        return decrypt(key, parts[2]!, parts[3]!, parts[4]!, parts[1]);
      }
      if (parts[0] === 'v1' && parts.length === 4) {
        for (const key of keys.values()) {
          try { return decrypt(key, parts[1]!, parts[2]!, parts[3]!); } catch { /* the next key */ }
        }
        throw new Error('no configured master key opens this value');
      }
      throw new Error('not a sealed secret');
    },
    stale: (sealed) => !sealed.startsWith(`v2.${keyId}.`),
  };
}
