import { randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret } from './secret-cipher';

describe('secret cipher (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('round-trips and uses a fresh IV every time', () => {
    const secret = 'whsec_' + randomBytes(32).toString('base64');
    const a = encryptSecret(key, secret);
    const b = encryptSecret(key, secret);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret.slice(6));
    expect(decryptSecret(key, a)).toBe(secret);
    expect(decryptSecret(key, b)).toBe(secret);
  });

  it('refuses another key and tampered ciphertext', () => {
    const stored = encryptSecret(key, 'whsec_abc');
    expect(() => decryptSecret(randomBytes(32), stored)).toThrow();
    const [v, iv, tag, ct] = stored.split('.');
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0] ^= 1;
    expect(() => decryptSecret(key, [v, iv, tag, flipped.toString('base64url')].join('.'))).toThrow();
    expect(() => decryptSecret(key, 'plaintext')).toThrow();
  });
});
