import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { REDIS, RedisKeys } from '../redis/redis.module';
import { generateApiKey } from './api-key-format';

/** Makes new keys from the operating system's CSPRNG (a fake in unit tests). */
@Injectable()
export class ApiKeyGenerator {
  generate(): string {
    return generateApiKey(randomBytes);
  }
}

/** The time, injectable so expiry and last-used logic can be tested without waiting. */
@Injectable()
export class ApiKeyClock {
  now(): Date {
    return new Date();
  }
}

/**
 * A revocation counter in Redis shared by every running instance. Revoking a key increments it after the
 * database write; each instance reads it on every key lookup and trusts only cache entries filled under the
 * current value, so a revocation on one instance is honoured by all of them from the next request on.
 */
@Injectable()
export class ApiKeyRevocations {
  private readonly key: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    keys: RedisKeys,
  ) {
    this.key = keys.key('api-keys', 'revocation-epoch');
  }

  /** The current epoch, or null when Redis cannot be asked (the caller then bypasses its cache). */
  async current(): Promise<string | null> {
    try {
      return (await this.redis.get(this.key)) ?? '0';
    } catch {
      return null;
    }
  }

  /** Throws when Redis is unreachable: the caller must not report a revocation other instances may miss. */
  async bump(): Promise<void> {
    await this.redis.incr(this.key);
  }
}
