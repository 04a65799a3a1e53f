import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import type { AppConfig } from '../config/app.config';
import { REDIS, RedisKeys } from '../redis/redis.module';
import { RedisThrottlerStorage, throttleStorage } from './redis-throttler.storage';

export const THROTTLE_WINDOW_MS = 60_000;

/** Per API key when called with one, else per user, else per IP (the auth guard has already run). */
export function callerTracker(auth: AuthContext | undefined, ip: string | undefined): string {
  if (auth?.apiKey) return `key:${auth.apiKey.id}`;
  if (auth) return `user:${auth.user.id}`;
  return `ip:${ip ?? 'unknown'}`;
}

/** The storage key of a named throttler's tracker (hashed, so no id or address is stored in clear). */
export function throttleKey(name: string, tracker: string): string {
  return createHash('sha256').update(`${name}:${tracker}`).digest('hex');
}

/**
 * The `predictions` throttler for the prediction fast path, which runs outside Nest's guards: the same storage,
 * key, window, limit and block as `@ThrottlePredictions()` (throttle.module.ts), and the same headers
 * (`X-RateLimit-{Limit,Remaining,Reset}-predictions`, and `Retry-After` on a 429).
 */
@Injectable()
export class PredictionThrottle {
  private readonly storage: RedisThrottlerStorage;
  private readonly limit: number;

  constructor(@Inject(REDIS) redis: Redis, keys: RedisKeys, config: ConfigService<AppConfig, true>) {
    this.storage = throttleStorage(redis, keys);
    this.limit = config.get('throttle', { infer: true }).predictionsPerMinute;
  }

  /** Counts one prediction; returns the headers to answer with, or throws RATE_LIMITED (429). */
  async hit(auth: AuthContext): Promise<Array<[string, string]>> {
    return this.hitTracker(callerTracker(auth, undefined));
  }

  /** `hit` for a tracker known before authentication completes (`key:<id>`, see callerTracker). */
  async hitTracker(tracker: string): Promise<Array<[string, string]>> {
    const record = await this.storage.increment(
      throttleKey('predictions', tracker),
      THROTTLE_WINDOW_MS,
      this.limit,
      THROTTLE_WINDOW_MS,
      'predictions',
    );
    if (record.isBlocked) {
      const retryAfter = Math.max(1, record.timeToBlockExpire);
      throw new AppError(
        'RATE_LIMITED',
        `Too many requests: at most ${this.limit} per ${Math.round(THROTTLE_WINDOW_MS / 1000)} s; retry in ${retryAfter} s`,
        { 'Retry-After': String(retryAfter), 'Retry-After-predictions': String(record.timeToBlockExpire) },
      );
    }
    return [
      ['X-RateLimit-Limit-predictions', String(this.limit)],
      ['X-RateLimit-Remaining-predictions', String(Math.max(0, this.limit - record.totalHits))],
      ['X-RateLimit-Reset-predictions', String(record.timeToExpire)],
    ];
  }
}
