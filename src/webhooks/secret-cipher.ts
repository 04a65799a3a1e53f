import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AppConfig } from '../config/app.config';

const VERSION = 'v1';

/** AES-256-GCM, stored as `v1.<iv>.<tag>.<ciphertext>` (base64url parts); the tag makes tampering fail loudly. */
export function encryptSecret(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

export function decryptSecret(key: Buffer, stored: string): string {
  const [version, iv, tag, ciphertext] = stored.split('.');
  if (version !== VERSION || !iv || !tag || ciphertext === undefined)
    throw new Error('Not an encrypted webhook secret');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
    'utf8',
  );
}

/** Decrypted secrets kept, by their stored form; past this many the oldest is dropped. */
const DECRYPTED_KEPT = 1000;

/**
 * Encrypts webhook signing secrets at rest with the configured key (WEBHOOK_SECRET_KEY). Decryptions are kept in
 * memory by stored form (every attempt signs; AES-GCM setup was ≈1.5 % of a loaded process): a rotation stores a
 * new form, so nothing stale is ever signed with.
 */
@Injectable()
export class SecretCipher {
  private readonly key: Buffer;
  private readonly decrypted = new Map<string, string>();
  constructor(config: ConfigService<AppConfig, true>) {
    this.key = config.get('webhooks', { infer: true }).encryptionKey;
  }
  encrypt(plaintext: string): string {
    return encryptSecret(this.key, plaintext);
  }
  decrypt(stored: string): string {
    let plaintext = this.decrypted.get(stored);
    if (plaintext === undefined) {
      plaintext = decryptSecret(this.key, stored);
      if (this.decrypted.size >= DECRYPTED_KEPT) this.decrypted.delete(this.decrypted.keys().next().value!);
      this.decrypted.set(stored, plaintext);
    }
    return plaintext;
  }
}
