import { describe, expect, it } from 'vitest';
import { createSecretBox, newMasterKey, parseMasterKey } from '../../domain/secret-box';

describe('secret box (AES-256-GCM under the master key)', () => {
  const box = createSecretBox(newMasterKey());
  it('round-trips and never stores the clear text', () => {
    const sealed = box.seal('seller-access-key-123');
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('seller-access-key-123');
    expect(box.open(sealed)).toBe('seller-access-key-123');
    expect(box.seal('x')).not.toBe(box.seal('x'));
  });
  it('refuses a tampered value and another key', () => {
    const sealed = box.seal('secret');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => createSecretBox(newMasterKey()).open(sealed)).toThrow();
    expect(() => box.open('plain text')).toThrow(/not a sealed secret/);
  });
  it('takes 32-byte keys only', () => {
    expect(parseMasterKey('ab'.repeat(32))).toHaveLength(32);
    expect(() => parseMasterKey('ab'.repeat(16))).toThrow(RangeError);
  });
});
