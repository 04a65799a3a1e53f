import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import type { AppConfig } from '../config/app.config';
import { AccessEpoch, REDIS, RedisKeys } from '../redis/redis.module';
import { RedisScript } from '../redis/redis-script';
import { TurnBatcher } from '../common/turn-batcher';
import { failOpen, RedisThrottlerStorage, throttleStorage, toRecord } from './redis-throttler.storage';

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
 * The access epoch, then for each tracker of the turn its hits counted all at once, in one atomic call:
 * KEYS[1] the epoch, then per tracker its hit counter and block marker; ARGV window ms, limit, block ms, then per
 * tracker its number of hits. Returns {epoch, then per tracker: hits after, counter ttl ms, block ttl ms before}.
 * Counting n hits at once and then placing each in the sequence (see `admitted`) gives every request the
 * answer the storage's one-hit script (redis-throttler.storage.ts) would have given it, hit by hit.
 */
const ADMIT = new RedisScript(`
local window, limit, block = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local out = {redis.call('GET', KEYS[1]) or '0'}
for j = 1, (#KEYS - 1) / 2 do
  local hitsKey, blockKey, count = KEYS[2 * j], KEYS[2 * j + 1], tonumber(ARGV[3 + j])
  local hits = redis.call('INCRBY', hitsKey, count)
  if hits == count then redis.call('PEXPIRE', hitsKey, window) end
  local ttl = redis.call('PTTL', hitsKey)
  if ttl < 0 then redis.call('PEXPIRE', hitsKey, window); ttl = tonumber(window) end
  local blocked = redis.call('PTTL', blockKey)
  if blocked <= 0 and hits > limit then redis.call('SET', blockKey, '1', 'PX', block) end
  out[#out + 1] = hits
  out[#out + 1] = ttl
  out[#out + 1] = blocked
end
return out
`);

/** What `admit` found for one request. */
export interface Admission {
  /** AccessEpoch's value, read after the request arrived; null when Redis could not be asked. */
  epoch: string | null;
  /** This request's place in its tracker's window, when a tracker was given. */
  record?: ThrottlerStorageRecord;
}

/** Hashed tracker keys kept in memory, so a known caller's key is not hashed again on every prediction. */
const MAX_HASHED_TRACKERS = 10_000;

/**
 * The `predictions` throttler for the prediction fast path, which runs outside Nest's guards: the same storage,
 * key, window, limit and block as `@ThrottlePredictions()` (throttle.module.ts), and the same headers
 * (`X-RateLimit-{Limit,Remaining,Reset}-predictions`, and `Retry-After` on a 429).
 *
 * Every prediction needs the access epoch (AccessEpoch: are the cached key, user and model access still
 * valid?) and one hit on its caller's throttle. `admit` does both for all the predictions that ask in the same
 * event-loop turn with ONE Redis call (a script: the epoch, and per caller all its hits at once), instead of two
 * commands per prediction. Each read is made after its request asked, so a revocation that completed before the
 * request arrived is always seen.
 */
@Injectable()
export class PredictionThrottle {
  private readonly storage: RedisThrottlerStorage;
  private readonly limit: number;
  private readonly hashedKeys = new Map<string, { hits: string; blocked: string }>();
  private readonly admissions = new TurnBatcher<string | undefined, Admission>((trackers) =>
    this.admitAll(trackers),
  );

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    keys: RedisKeys,
    config: ConfigService<AppConfig, true>,
    private readonly epoch: AccessEpoch,
  ) {
    this.storage = throttleStorage(redis, keys);
    this.limit = config.get('throttle', { infer: true }).predictionsPerMinute;
  }

  /**
   * Reads the access epoch and, with a `tracker` (see callerTracker), counts one prediction against it. Never
   * rejects: with Redis unreachable the epoch is null (caches are bypassed) and the hit counts as nothing (fail
   * open, as the storage does). Judge the record with `judge` once the caller is authenticated.
   */
  admit(tracker?: string): Promise<Admission> {
    return this.admissions.call(tracker);
  }

  /** Counts one prediction for an authenticated caller; returns the headers to answer with, or throws 429. */
  async hit(auth: AuthContext): Promise<Array<[string, string]>> {
    const { record } = await this.admit(callerTracker(auth, undefined));
    return this.judge(record ?? failOpen(THROTTLE_WINDOW_MS));
  }

  /** The headers for a counted hit, or RATE_LIMITED (429) with Retry-After when it is over the limit. */
  judge(record: ThrottlerStorageRecord): Array<[string, string]> {
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

  /** One turn's admissions (see `admit`), in order: one script call, never rejected. */
  private async admitAll(trackers: Array<string | undefined>): Promise<Admission[]> {
    // Each tracker's requests, by their index in `trackers`.
    const byTracker = new Map<string, number[]>();
    trackers.forEach((tracker, i) => {
      if (tracker === undefined) return;
      const group = byTracker.get(tracker);
      if (group) group.push(i);
      else byTracker.set(tracker, [i]);
    });
    const keys = [this.epoch.key];
    const args: Array<string | number> = [THROTTLE_WINDOW_MS, this.limit, THROTTLE_WINDOW_MS];
    for (const [tracker, group] of byTracker) {
      const { hits, blocked } = this.keysOf(tracker);
      keys.push(hits, blocked);
      args.push(group.length);
    }
    let reply: unknown[] | null;
    try {
      reply = (await ADMIT.run(this.redis, keys, args)) as unknown[];
    } catch {
      reply = null;
    }
    // A change that could not be announced while Redis was down is announced by this read (AccessEpoch.current).
    const epoch =
      reply === null ? null : this.epoch.announcementPending ? await this.epoch.current() : String(reply[0]);
    const admissions: Admission[] = trackers.map(() => ({ epoch }));
    let at = 1;
    for (const group of byTracker.values()) {
      const counted = reply?.slice(at, at + 3).map(Number);
      at += 3;
      group.forEach((index, i) => {
        admissions[index].record = counted
          ? this.admitted(counted, group.length, i)
          : failOpen(THROTTLE_WINDOW_MS);
      });
    }
    return admissions;
  }

  /**
   * The record of the `i`-th of `count` hits counted at once: its own place in the window, blocked if a block
   * stood before them or if it is itself over the limit (the first such hit set the block).
   */
  private admitted(
    [hitsAfter, ttlMs, blockedBeforeMs]: number[],
    count: number,
    i: number,
  ): ThrottlerStorageRecord {
    const hits = hitsAfter - count + 1 + i;
    const blockMs = blockedBeforeMs > 0 ? blockedBeforeMs : hits > this.limit ? THROTTLE_WINDOW_MS : 0;
    return toRecord(hits, ttlMs, blockMs);
  }

  private keysOf(tracker: string): { hits: string; blocked: string } {
    let keys = this.hashedKeys.get(tracker);
    if (!keys) {
      if (this.hashedKeys.size >= MAX_HASHED_TRACKERS) this.hashedKeys.clear();
      keys = this.storage.keysOf('predictions', throttleKey('predictions', tracker));
      this.hashedKeys.set(tracker, keys);
    }
    return keys;
  }
}
