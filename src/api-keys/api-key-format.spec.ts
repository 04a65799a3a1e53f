import { randomBytes } from 'node:crypto';
import {
  API_KEY_LENGTH,
  apiKeyChecksum,
  BASE62,
  crc32,
  crc32Table,
  displayPrefix,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  randomBase62,
  toBase62,
} from './api-key-format';

/** A fake byte source: hands out the given bytes in order, cycling. */
function bytesFrom(values: number[]): (size: number) => Buffer {
  let i = 0;
  return (size) => Buffer.from(Array.from({ length: size }, () => values[i++ % values.length]));
}

describe('API key format', () => {
  it('CRC32 matches the standard check value and the table implementation agrees with zlib', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926);
    for (let i = 0; i < 50; i++) {
      const data = randomBytes(i * 3);
      expect(crc32Table(data)).toBe(crc32(data));
    }
  });

  it('writes numbers in base62, padded to the width', () => {
    expect(toBase62(0, 6)).toBe('000000');
    expect(toBase62(61, 6)).toBe('00000z');
    expect(toBase62(62, 6)).toBe('000010');
    expect(toBase62(0xffffffff, 6)).toBe('4gfFC3');
    expect(toBase62(0xffffffff, 6)).toHaveLength(6);
  });

  it('draws base62 characters by rejection sampling: bytes 248..255 are skipped, not folded', () => {
    // 248 % 62 would be 0 and bias "0"; such bytes must be dropped.
    expect(randomBase62(4, bytesFrom([248, 0, 255, 61, 62, 249, 123]))).toBe('0z0' + BASE62[123 % 62]);
  });

  it('spreads characters evenly over the alphabet', () => {
    const counts = new Map<string, number>();
    const sample = randomBase62(62_000, randomBytes);
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(200);
  });

  it('generates mp_ + 32 base62 + the 6-character checksum of those 32', () => {
    const key = generateApiKey(randomBytes);
    expect(key).toMatch(/^mp_[0-9A-Za-z]{38}$/);
    expect(key).toHaveLength(API_KEY_LENGTH);
    expect(key.slice(35)).toBe(apiKeyChecksum(key.slice(3, 35)));
    expect(isWellFormedApiKey(key)).toBe(true);
  });

  it('is deterministic for a given byte source', () => {
    const key = generateApiKey(bytesFrom([5]));
    expect(key).toBe(`mp_${'5'.repeat(32)}${apiKeyChecksum('5'.repeat(32))}`);
  });

  it('rejects every one-character change of a valid key, at every position', () => {
    for (let round = 0; round < 5; round++) {
      const key = generateApiKey(randomBytes);
      for (let position = 0; position < key.length; position++) {
        for (const replacement of ['0', 'a', 'Z', '_', '-']) {
          if (key[position] === replacement) continue;
          const changed = key.slice(0, position) + replacement + key.slice(position + 1);
          expect(isWellFormedApiKey(changed)).toBe(false);
        }
      }
    }
  });

  it.each([
    ['empty', ''],
    ['prefix only', 'mp_'],
    ['wrong prefix', `pm_${'A'.repeat(38)}`],
    ['too long', `mp_${'A'.repeat(39)}`],
    ['non-ASCII', `mp_${'Ä'.repeat(38)}`],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl'],
  ])('rejects %s', (_label, value) => {
    expect(isWellFormedApiKey(value)).toBe(false);
  });

  it('hashes with SHA-256 (hex) and shows only a short prefix', () => {
    const key = generateApiKey(randomBytes);
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    const changed = key.slice(0, -1) + (key.endsWith('x') ? 'y' : 'x');
    expect(hashApiKey(key)).not.toBe(hashApiKey(changed));
    expect(displayPrefix(key)).toBe(key.slice(0, 10));
  });
});
