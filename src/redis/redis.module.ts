import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
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
        }),
    },
    RedisKeys,
    RedisCloser,
  ],
  exports: [REDIS, RedisKeys],
})
export class RedisModule {}
