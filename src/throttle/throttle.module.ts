import { ExecutionContext, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Request } from 'express';
import Redis from 'ioredis';
import type { AuthenticatedRequest } from '../common/auth-context';
import type { AppConfig } from '../config/app.config';
import { REDIS, RedisKeys } from '../redis/redis.module';
import { callerTracker, PredictionThrottle, THROTTLE_WINDOW_MS, throttleKey } from './prediction-throttle';
import { throttleStorage } from './redis-throttler.storage';
import { THROTTLE_SCOPES, ThrottleScope } from './throttle.decorators';

/** A throttler applies only to routes that opted into its scope with @ThrottleAuth() / @ThrottlePredictions(). */
const unlessScope = (scope: ThrottleScope) => (context: ExecutionContext) => {
  const scopes = Reflect.getMetadata(THROTTLE_SCOPES, context.getHandler()) as ThrottleScope[] | undefined;
  return !scopes?.includes(scope);
};

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService, REDIS, RedisKeys],
      useFactory: (config: ConfigService<AppConfig, true>, redis: Redis, keys: RedisKeys) => {
        const limits = config.get('throttle', { infer: true });
        return {
          storage: throttleStorage(redis, keys),
          throttlers: [
            {
              name: 'auth',
              ttl: THROTTLE_WINDOW_MS,
              limit: limits.authPerMinute,
              skipIf: unlessScope('auth'),
              getTracker: (req: Record<string, unknown>) =>
                `ip:${String((req as unknown as Request).ip ?? 'unknown')}`,
            },
            {
              name: 'predictions',
              ttl: THROTTLE_WINDOW_MS,
              limit: limits.predictionsPerMinute,
              skipIf: unlessScope('predictions'),
              getTracker: (req: Record<string, unknown>) =>
                callerTracker((req as unknown as AuthenticatedRequest).auth, (req as unknown as Request).ip),
            },
          ],
          // The key is hashed by the guard; keep the route out of it so one limit covers register and login.
          generateKey: (_context: ExecutionContext, tracker: string, name: string) =>
            throttleKey(name, tracker),
        };
      },
    }),
  ],
  providers: [PredictionThrottle],
  exports: [PredictionThrottle],
})
export class ThrottleModule {}
