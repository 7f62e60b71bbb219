import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox('a-secret-key-that-is-long-enough-for-tests');

  it('round-trips and never repeats a ciphertext', () => {
    const sealed = box.seal('postgres://u:p@h/db');
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('postgres');
    expect(box.open(sealed)).toBe('postgres://u:p@h/db');
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('refuses another key, tampering and unknown formats', () => {
    const sealed = box.seal('secret');
    expect(() => new SecretBox('another-secret-key-that-is-long-enough').open(sealed)).toThrow();
    const parts = sealed.split('.');
    const flipped = [...parts.slice(0, 3), Buffer.from('x' + Buffer.from(parts[3]!, 'base64url').toString('latin1').slice(1), 'latin1').toString('base64url')].join('.');
    expect(() => box.open(flipped)).toThrow();
    expect(() => box.open('v2.a.b.c')).toThrow(/format/);
  });
});
