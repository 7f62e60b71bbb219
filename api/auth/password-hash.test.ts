import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password-hash';

describe('password hashing', () => {
  it('stores scrypt hashes with their parameters and a random salt', async () => {
    const first = await hashPassword('correct horse battery staple', 12);
    const second = await hashPassword('correct horse battery staple', 12);
    expect(first).toMatch(/^scrypt\$12\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword('correct horse battery staple', first)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', first)).toBe(false);
    expect(await verifyPassword('anything', 'bcrypt$whatever')).toBe(false);
  });

  it('treats unicode spellings of the same password alike (NFKC)', async () => {
    const stored = await hashPassword('café', 10);
    expect(await verifyPassword('cafe\u0301', stored)).toBe(true);
  });
});
