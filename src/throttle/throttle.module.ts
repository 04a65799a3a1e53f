import { ExecutionContext, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Request } from 'express';
import Redis from 'ioredis';
import { createHash } from 'node:crypto';
import type { AuthenticatedRequest } from '../common/auth-context';
import type { AppConfig } from '../config/app.config';
import { REDIS, RedisKeys } from '../redis/redis.module';
import { RedisThrottlerStorage } from './redis-throttler.storage';
import { THROTTLE_SCOPES, ThrottleScope } from './throttle.decorators';

const MINUTE_MS = 60_000;

/** A throttler applies only to routes that opted into its scope with @ThrottleAuth() / @ThrottlePredictions(). */
const unlessScope = (scope: ThrottleScope) => (context: ExecutionContext) => {
  const scopes = Reflect.getMetadata(THROTTLE_SCOPES, context.getHandler()) as ThrottleScope[] | undefined;
  return !scopes?.includes(scope);
};

/** Per API key when called with one, else per user, else per IP (the auth guard has already run). */
function callerTracker(req: Request & AuthenticatedRequest): string {
  if (req.auth?.apiKey) return `key:${req.auth.apiKey.id}`;
  if (req.auth) return `user:${req.auth.user.id}`;
  return `ip:${req.ip ?? 'unknown'}`;
}

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService, REDIS, RedisKeys],
      useFactory: (config: ConfigService<AppConfig, true>, redis: Redis, keys: RedisKeys) => {
        const limits = config.get('throttle', { infer: true });
        return {
          storage: new RedisThrottlerStorage(redis, keys.key('throttle')),
          throttlers: [
            {
              name: 'auth',
              ttl: MINUTE_MS,
              limit: limits.authPerMinute,
              skipIf: unlessScope('auth'),
              getTracker: (req: Record<string, unknown>) =>
                `ip:${String((req as unknown as Request).ip ?? 'unknown')}`,
            },
            {
              name: 'predictions',
              ttl: MINUTE_MS,
              limit: limits.predictionsPerMinute,
              skipIf: unlessScope('predictions'),
              getTracker: (req: Record<string, unknown>) =>
                callerTracker(req as unknown as Request & AuthenticatedRequest),
            },
          ],
          // The key is hashed by the guard; keep the route out of it so one limit covers register and login.
          generateKey: (_context: ExecutionContext, tracker: string, name: string) =>
            createHash('sha256').update(`${name}:${tracker}`).digest('hex'),
        };
      },
    }),
  ],
})
export class ThrottleModule {}
