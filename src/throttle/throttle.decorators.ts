import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto';
import { RateLimitGuard } from './rate-limit.guard';

/** Which named throttlers a route opts into (none unless decorated). */
export const THROTTLE_SCOPES = 'modelport:throttleScopes';
export type ThrottleScope = 'auth' | 'predictions';

const throttled = (scope: ThrottleScope, description: string) =>
  applyDecorators(
    SetMetadata(THROTTLE_SCOPES, [scope]),
    UseGuards(RateLimitGuard),
    ApiTooManyRequestsResponse({
      description,
      type: ErrorResponseDto,
      headers: {
        'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
      },
    }),
  );

/** Sign-in and sign-up: `THROTTLE_AUTH_PER_MINUTE` per client IP. */
export const ThrottleAuth = () => throttled('auth', 'Too many attempts from this address; see `Retry-After`');

/** Predictions: `THROTTLE_PREDICTIONS_PER_MINUTE` per API key (or per user with a login token). */
export const ThrottlePredictions = () =>
  throttled('predictions', 'Too many predictions for this API key (or user); see `Retry-After`');
