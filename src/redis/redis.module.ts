import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import type { AppConfig } from '../config/app.config';

export const REDIS = Symbol('REDIS');

/** Key prefix helper so several test suites (or deployments) can share one Redis. */
@Injectable()
export class RedisKeys {
  private readonly prefix: string;
  constructor(config: ConfigService<AppConfig, true>) {
    this.prefix = config.get('redisPrefix', { infer: true });
  }
  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
}

/**
 * An access epoch in Redis shared by every running instance. Whatever narrows what a caller may do — revoking an
 * API key, deactivating a user or changing their admin flag, changing or deleting a model, granting, changing
 * or revoking a share — increments it after its database write. Each instance reads it on every request that
 * uses a cached answer (API keys, users, model access) and trusts only entries filled under the current value,
 * so the change is honoured by all instances from the next request on.
 */
@Injectable()
export class AccessEpoch {
  private readonly logger = new Logger(AccessEpoch.name);
  /** The Redis key holding the epoch (read with others in one script by PredictionThrottle.admit). */
  readonly key: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    keys: RedisKeys,
  ) {
    this.key = keys.key('access', 'epoch');
  }

  /**
   * The current epoch, or null when Redis cannot be asked (the caller then bypasses its cache). A change that
   * could not be announced while Redis was down is announced first (see `announceChange`).
   */
  async current(): Promise<string | null> {
    try {
      if (this.unannounced) {
        const epoch = String(await this.redis.incr(this.key));
        this.unannounced = false;
        return epoch;
      }
      return (await this.redis.get(this.key)) ?? '0';
    } catch {
      return null;
    }
  }

  /** Throws when Redis is unreachable: the caller must not report a change other instances may miss. */
  async bump(): Promise<void> {
    await this.redis.incr(this.key);
  }

  /**
   * `bump` after a committed change that narrows access to models (a model changed or deleted, a share changed,
   * a user's flags changed). While Redis is unreachable no instance can read the epoch, so none serves from its
   * cache; the change stands, and the bump is made by this instance's
   * next successful epoch read. Entries of other instances also expire after their TTL (30 s) in any case.
   */
  async announceChange(what: string): Promise<void> {
    try {
      await this.bump();
    } catch (err) {
      this.unannounced = true;
      this.logger.warn(
        { err, what },
        'Redis is unreachable: the access change will be announced when it is back',
      );
    }
  }

  /** A change is waiting to be announced: the next read must go through `current`, which bumps first. */
  get announcementPending(): boolean {
    return this.unannounced;
  }

  private unannounced = false;
}

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) =>
        new Redis(config.get('redisUrl', { infer: true }), {
          // Fail a command quickly when Redis is down instead of queueing it forever.
          maxRetriesPerRequest: 1,
          connectTimeout: 2000,
          enableReadyCheck: true,
          // Commands issued in the same event-loop turn (the access epoch and throttle of concurrent
          // predictions) go out in one write and come back in one read instead of a syscall pair each.
          enableAutoPipelining: true,
        }),
    },
    RedisKeys,
    AccessEpoch,
    RedisCloser,
  ],
  exports: [REDIS, RedisKeys, AccessEpoch],
})
export class RedisModule {}
