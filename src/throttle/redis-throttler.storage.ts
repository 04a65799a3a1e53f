import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type Redis from 'ioredis';
import type { RedisKeys } from '../redis/redis.module';

/**
 * Fixed-window counter with an optional block, in one atomic Lua call:
 * KEYS[1] hit counter, KEYS[2] block marker; ARGV ttl ms, limit, block ms.
 * Returns {hits, counter ttl ms, block ttl ms (<= 0 when not blocked)}.
 */
const INCREMENT = `
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
`;

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
    const base = `${this.keyPrefix}:${throttlerName}:${key}`;
    let counted: [number, number, number];
    try {
      counted = (await this.redis.eval(
        INCREMENT,
        2,
        `${base}:hits`,
        `${base}:blocked`,
        String(Math.max(1, Math.round(ttl))),
        String(limit),
        String(Math.max(1, Math.round(blockDuration))),
      )) as [number, number, number];
    } catch {
      // Redis is down: fail open rather than turn every throttled route (predictions included) into a 500.
      return { totalHits: 0, timeToExpire: Math.ceil(ttl / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
    const [hits, ttlMs, blockMs] = counted;
    const isBlocked = blockMs > 0;
    return {
      totalHits: hits,
      timeToExpire: Math.max(0, Math.ceil(ttlMs / 1000)),
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.max(1, Math.ceil(blockMs / 1000)) : 0,
    };
  }
}

/** The one throttle storage layout (key prefix `<REDIS_PREFIX>:throttle`), for the guard and the fast path. */
export function throttleStorage(redis: Redis, keys: RedisKeys): RedisThrottlerStorage {
  return new RedisThrottlerStorage(redis, keys.key('throttle'));
}
