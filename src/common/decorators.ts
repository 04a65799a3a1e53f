import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse, ApiSecurity, ApiBearerAuth } from '@nestjs/swagger';
import { AppError } from './app-error';
import type { AuthContext, AuthenticatedRequest } from './auth-context';
import { ErrorResponseDto } from './error-response.dto';

export const IS_PUBLIC = 'modelport:isPublic';
export const ADMIN_ONLY = 'modelport:adminOnly';
export const LOGIN_TOKEN_ONLY = 'modelport:loginTokenOnly';

/** Opts a route out of the global default-deny authentication guard. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Only administrators (`is_admin`); others get 403. */
export const AdminOnly = () =>
  applyDecorators(
    SetMetadata(ADMIN_ONLY, true),
    ApiForbiddenResponse({ description: 'The caller is not an administrator', type: ErrorResponseDto }),
  );

/** Refuses API keys (403): key management, password change and OAuth linking need a login token. */
export const LoginTokenOnly = () =>
  applyDecorators(
    SetMetadata(LOGIN_TOKEN_ONLY, true),
    ApiForbiddenResponse({
      description: 'Called with an API key; this route needs a login token',
      type: ErrorResponseDto,
    }),
  );

/** The names of the two OpenAPI security schemes, declared in app.setup.ts. */
export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'apiKey';

/** Swagger: a route that takes a login token or an API key. */
export const ApiAuth = () => applyDecorators(ApiBearerAuth(BEARER_SCHEME), ApiSecurity(API_KEY_SCHEME));

/** The caller's AuthContext, set by the global guard. */
export const Auth = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthContext => {
  const request = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
  if (!request.auth) throw new AppError('UNAUTHENTICATED', 'Authentication required');
  return request.auth;
});
