import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type Redis from 'ioredis';
import type { RedisKeys } from '../redis/redis.module';
import { RedisScript } from '../redis/redis-script';

/**
 * Fixed-window counter with an optional block, in one atomic Lua call:
 * KEYS[1] hit counter, KEYS[2] block marker; ARGV ttl ms, limit, block ms.
 * Returns {hits, counter ttl ms, block ttl ms (<= 0 when not blocked)}.
 */
const INCREMENT = new RedisScript(`
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
local blocked = redis.call('PTTL', KEYS[2])
if blocked <= 0 and hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  blocked = tonumber(ARGV[3])
end
return {hits, ttl, blocked}
`);

/** ThrottlerStorage in Redis, so limits hold across processes and restarts. Times are returned in seconds. */
export class RedisThrottlerStorage implements ThrottlerStorage {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const { hits, blocked } = this.keysOf(throttlerName, key);
    let counted: [number, number, number];
    try {
      counted = (await INCREMENT.run(
        this.redis,
        [hits, blocked],
        [String(Math.max(1, Math.round(ttl))), String(limit), String(Math.max(1, Math.round(blockDuration)))],
      )) as [number, number, number];
    } catch {
      // Redis is down: fail open rather than turn every throttled route (predictions included) into a 500.
      return failOpen(ttl);
    }
    return toRecord(...counted);
  }

  /** The Redis keys of a throttler's counter and block marker for a (hashed) tracker key. */
  keysOf(throttlerName: string, key: string): { hits: string; blocked: string } {
    const base = `${this.keyPrefix}:${throttlerName}:${key}`;
    return { hits: `${base}:hits`, blocked: `${base}:blocked` };
  }
}

/** A storage record from the counter after the hit, the counter's TTL and the block's TTL (<= 0: none), in ms. */
export function toRecord(hits: number, ttlMs: number, blockMs: number): ThrottlerStorageRecord {
  const isBlocked = blockMs > 0;
  return {
    totalHits: hits,
    timeToExpire: Math.max(0, Math.ceil(ttlMs / 1000)),
    isBlocked,
    timeToBlockExpire: isBlocked ? Math.max(1, Math.ceil(blockMs / 1000)) : 0,
  };
}

/** What a hit counts as while Redis cannot be asked: nothing (fail open). */
export function failOpen(ttlMs: number): ThrottlerStorageRecord {
  return { totalHits: 0, timeToExpire: Math.ceil(ttlMs / 1000), isBlocked: false, timeToBlockExpire: 0 };
}

/** The one throttle storage layout (key prefix `<REDIS_PREFIX>:throttle`), for the guard and the fast path. */
export function throttleStorage(redis: Redis, keys: RedisKeys): RedisThrottlerStorage {
  return new RedisThrottlerStorage(redis, keys.key('throttle'));
}
