import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import { AppError } from '../common/app-error';

/**
 * `@nestjs/throttler`'s guard, answering 429 in the shared error shape with a plain `Retry-After` (seconds).
 * It is applied per route by the decorators in throttle.decorators.ts, after the global auth guard, so the
 * predictions throttle can count per API key.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    return Promise.reject(
      new AppError(
        'RATE_LIMITED',
        `Too many requests: at most ${detail.limit} per ${Math.round(detail.ttl / 1000)} s; retry in ${retryAfter} s`,
        {
          'Retry-After': String(retryAfter),
        },
      ),
    );
  }
}
