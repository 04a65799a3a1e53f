import { HttpStatus } from '@nestjs/common';

/**
 * Every error a service means to show a client carries one of these codes. The global exception filter maps a
 * code to its HTTP status with `httpStatusOf` (an exhaustive switch, so a new code cannot be forgotten).
 */
export type ErrorCode =
  // 400
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'INVALID_INPUT'
  | 'INVALID_SCHEMA'
  | 'INVALID_MODEL_TYPE'
  | 'SHARE_WITH_SELF'
  | 'INVALID_WEBHOOK_TARGET'
  | 'OAUTH_STATE_INVALID'
  // 401
  | 'UNAUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'INVALID_TOKEN'
  | 'INVALID_API_KEY'
  | 'USER_INACTIVE'
  | 'OAUTH_FAILED'
  // 403
  | 'FORBIDDEN'
  | 'ADMIN_ONLY'
  | 'LOGIN_TOKEN_REQUIRED'
  | 'INSUFFICIENT_PERMISSION'
  // 404
  | 'NOT_FOUND'
  | 'ROUTE_NOT_FOUND'
  | 'OAUTH_PROVIDER_NOT_CONFIGURED'
  // 409
  | 'CONFLICT'
  | 'EMAIL_TAKEN'
  | 'LAST_ADMIN'
  | 'MODEL_ARCHIVED'
  | 'SHARE_EXISTS'
  | 'API_KEY_LIMIT'
  | 'OAUTH_EMAIL_UNVERIFIED'
  // 413
  | 'PAYLOAD_TOO_LARGE'
  // 415
  | 'UNSUPPORTED_MEDIA_TYPE'
  // 422
  | 'MODEL_LOAD_FAILED'
  | 'INFERENCE_FAILED'
  // 429
  | 'RATE_LIMITED'
  // 500
  | 'INTERNAL'
  // 502
  | 'OAUTH_PROVIDER_ERROR'
  // 503
  | 'DEPENDENCY_UNAVAILABLE'
  // 504
  | 'INFERENCE_TIMEOUT';

export function httpStatusOf(code: ErrorCode): HttpStatus {
  switch (code) {
    case 'VALIDATION_FAILED':
    case 'MALFORMED_JSON':
    case 'INVALID_INPUT':
    case 'INVALID_SCHEMA':
    case 'INVALID_MODEL_TYPE':
    case 'SHARE_WITH_SELF':
    case 'INVALID_WEBHOOK_TARGET':
    case 'OAUTH_STATE_INVALID':
      return HttpStatus.BAD_REQUEST;
    case 'UNAUTHENTICATED':
    case 'INVALID_CREDENTIALS':
    case 'INVALID_TOKEN':
    case 'INVALID_API_KEY':
    case 'USER_INACTIVE':
    case 'OAUTH_FAILED':
      return HttpStatus.UNAUTHORIZED;
    case 'FORBIDDEN':
    case 'ADMIN_ONLY':
    case 'LOGIN_TOKEN_REQUIRED':
    case 'INSUFFICIENT_PERMISSION':
      return HttpStatus.FORBIDDEN;
    case 'NOT_FOUND':
    case 'ROUTE_NOT_FOUND':
    case 'OAUTH_PROVIDER_NOT_CONFIGURED':
      return HttpStatus.NOT_FOUND;
    case 'CONFLICT':
    case 'EMAIL_TAKEN':
    case 'LAST_ADMIN':
    case 'MODEL_ARCHIVED':
    case 'SHARE_EXISTS':
    case 'API_KEY_LIMIT':
    case 'OAUTH_EMAIL_UNVERIFIED':
      return HttpStatus.CONFLICT;
    case 'PAYLOAD_TOO_LARGE':
      return HttpStatus.PAYLOAD_TOO_LARGE;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return HttpStatus.UNSUPPORTED_MEDIA_TYPE;
    case 'MODEL_LOAD_FAILED':
    case 'INFERENCE_FAILED':
      return HttpStatus.UNPROCESSABLE_ENTITY;
    case 'RATE_LIMITED':
      return HttpStatus.TOO_MANY_REQUESTS;
    case 'INTERNAL':
      return HttpStatus.INTERNAL_SERVER_ERROR;
    case 'OAUTH_PROVIDER_ERROR':
      return HttpStatus.BAD_GATEWAY;
    case 'DEPENDENCY_UNAVAILABLE':
      return HttpStatus.SERVICE_UNAVAILABLE;
    case 'INFERENCE_TIMEOUT':
      return HttpStatus.GATEWAY_TIMEOUT;
  }
}

/** A failure meant for the client: a code (which fixes the HTTP status) and a human-readable message. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): HttpStatus {
    return httpStatusOf(this.code);
  }

  static notFound(what: string): AppError {
    return new AppError('NOT_FOUND', `${what} not found`);
  }
}
