import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiExtension, ApiForbiddenResponse, ApiSecurity } from '@nestjs/swagger';
import { AppError } from './app-error';
import type { AuthContext, AuthenticatedRequest } from './auth-context';
import { ErrorResponseDto } from './error-response.dto';

export const IS_PUBLIC = 'modelport:isPublic';
export const ADMIN_ONLY = 'modelport:adminOnly';
export const LOGIN_TOKEN_ONLY = 'modelport:loginTokenOnly';
export const MULTIPART_BODY = 'modelport:multipartBody';

/** A route whose body is multipart/form-data (it checks the type itself); every other route takes JSON only. */
export const MultipartBody = () =>
  applyDecorators(SetMetadata(MULTIPART_BODY, true), ApiConsumes('multipart/form-data'));

/** Opts a route out of the global default-deny authentication guard. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Only administrators (`is_admin`); others get 403. */
export const AdminOnly = () =>
  applyDecorators(
    SetMetadata(ADMIN_ONLY, true),
    ApiForbiddenResponse({ description: 'The caller is not an administrator', type: ErrorResponseDto }),
  );

/** Marks an operation whose OpenAPI security completeOpenApiDocument narrows to the bearer scheme alone. */
export const LOGIN_TOKEN_ONLY_EXTENSION = 'x-login-token-only';

/**
 * Refuses API keys (403): key management, password change and OAuth linking need a login token. The OpenAPI
 * document lists only the bearer scheme for them, so generated clients do not offer an API key.
 */
export const LoginTokenOnly = (forbidden = 'Called with an API key; this route needs a login token') =>
  applyDecorators(
    SetMetadata(LOGIN_TOKEN_ONLY, true),
    ApiExtension(LOGIN_TOKEN_ONLY_EXTENSION, true),
    ApiForbiddenResponse({ description: forbidden, type: ErrorResponseDto }),
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
