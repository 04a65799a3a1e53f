import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';

/**
 * The shape of a Modelport API key: `mp_` + 32 random base62 characters + a 6-character base62 CRC32 of those
 * 32 characters. The fixed prefix lets secret scanners recognise a leaked key; the checksum lets the service
 * refuse a mistyped or made-up key without a database lookup.
 */
export const API_KEY_PREFIX = 'mp_';
export const API_KEY_SECRET_LENGTH = 32;
export const API_KEY_CHECKSUM_LENGTH = 6;
export const API_KEY_LENGTH = API_KEY_PREFIX.length + API_KEY_SECRET_LENGTH + API_KEY_CHECKSUM_LENGTH;
/** How much of the key is stored and shown to tell keys apart: `mp_` + 7 characters (not enough to guess it). */
export const API_KEY_DISPLAY_PREFIX_LENGTH = 10;

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const WELL_FORMED = new RegExp(
  `^${API_KEY_PREFIX}[0-9A-Za-z]{${API_KEY_SECRET_LENGTH + API_KEY_CHECKSUM_LENGTH}}$`,
);
// The largest multiple of 62 that fits in a byte: bytes at or above it are dropped so every character is equally likely.
const UNBIASED_BYTE_LIMIT = 256 - (256 % BASE62.length);

/** A source of random bytes (crypto.randomBytes in production, a fixed sequence in tests). */
export type RandomBytes = (size: number) => Buffer;

/** `length` uniformly distributed base62 characters, by rejection sampling of random bytes. */
export function randomBase62(length: number, randomBytes: RandomBytes): string {
  let out = '';
  while (out.length < length) {
    // Draw a little more than needed: about 3 % of the bytes are rejected.
    for (const byte of randomBytes(length - out.length + 8)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      out += BASE62[byte % BASE62.length];
      if (out.length === length) break;
    }
  }
  return out;
}

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE, as zlib and PNG); the table version serves Node releases without `zlib.crc32`. */
export function crc32(data: Buffer): number {
  const native = (zlib as { crc32?: (data: Buffer) => number }).crc32;
  if (typeof native === 'function') return native(data) >>> 0;
  return crc32Table(data);
}

export function crc32Table(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A non-negative integer in base62, left-padded with `0` to `width` characters. */
export function toBase62(value: number, width: number): string {
  let out = '';
  let rest = value;
  do {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return out.padStart(width, BASE62[0]);
}

/** The 6-character checksum of the 32 secret characters (62^6 > 2^32, so every CRC32 fits). */
export function apiKeyChecksum(secret: string): string {
  return toBase62(crc32(Buffer.from(secret, 'ascii')), API_KEY_CHECKSUM_LENGTH);
}

export function generateApiKey(randomBytes: RandomBytes): string {
  const secret = randomBase62(API_KEY_SECRET_LENGTH, randomBytes);
  return `${API_KEY_PREFIX}${secret}${apiKeyChecksum(secret)}`;
}

/** Right prefix, length and alphabet, and a checksum that matches: worth a database lookup. */
export function isWellFormedApiKey(key: string): boolean {
  if (key.length !== API_KEY_LENGTH || !WELL_FORMED.test(key)) return false;
  const secret = key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + API_KEY_SECRET_LENGTH);
  return key.slice(API_KEY_PREFIX.length + API_KEY_SECRET_LENGTH) === apiKeyChecksum(secret);
}

/** What `key_hash` holds: SHA-256 of the whole key, hex. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function displayPrefix(key: string): string {
  return key.slice(0, API_KEY_DISPLAY_PREFIX_LENGTH);
}
