import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, masterKeyId, newMasterKey, parseMasterKey } from '../../domain/secret-box';

describe('secret box (AES-256-GCM under the master key)', () => {
  const box = createSecretBox(newMasterKey());
  it('round-trips, names its key, and never stores the clear text', () => {
    const sealed = box.seal('seller-access-key-123');
    expect(sealed).toMatch(new RegExp(`^v2\\.${box.keyId}\\.`));
    expect(sealed).not.toContain('seller-access-key-123');
    expect(box.open(sealed)).toBe('seller-access-key-123');
    expect(box.seal('x')).not.toBe(box.seal('x'));
  });
  it('refuses a tampered value, a swapped key id and another key', () => {
    const sealed = box.seal('secret');
    const parts = sealed.split('.');
    expect(() => box.open([...parts.slice(0, 4), Buffer.from('tampered').toString('base64url')].join('.'))).toThrow();
    expect(() => createSecretBox(newMasterKey()).open(sealed)).toThrow(/not configured/);
    expect(() => box.open('plain text')).toThrow(/not a sealed secret/);
  });
  it('opens values of old keys and v1 values, and tells which need re-sealing', () => {
    const oldKey = newMasterKey();
    const before = createSecretBox(oldKey).seal('under the old key');
    // A v1 value: no key id, as sealed before key ids existed.
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', parseMasterKey(oldKey), iv);
    const body = Buffer.concat([c.update('v1 value', 'utf8'), c.final()]);
    const v1 = ['v1', iv, c.getAuthTag(), body].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
    const rotated = createSecretBox(newMasterKey(), [oldKey]);
    expect(rotated.open(before)).toBe('under the old key');
    expect(rotated.open(v1)).toBe('v1 value');
    expect(rotated.stale(before)).toBe(true);
    expect(rotated.stale(v1)).toBe(true);
    expect(rotated.stale(rotated.seal('new'))).toBe(false);
    expect(masterKeyId(parseMasterKey(oldKey))).toBe(createSecretBox(oldKey).keyId);
  });
  it('takes 32-byte keys only', () => {
    expect(parseMasterKey('ab'.repeat(32))).toHaveLength(32);
    expect(() => parseMasterKey('ab'.repeat(16))).toThrow(RangeError);
  });
});
