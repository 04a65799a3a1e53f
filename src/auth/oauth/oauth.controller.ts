import { applyDecorators, Controller, Get, HttpCode, Redirect, Req } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import {
  ApiFoundResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { AppError, ErrorCode } from '../../common/app-error';
import { ErrorResponseDto } from '../../common/error-response.dto';
import type { OAuthIdentity } from '../../users/users.service';
import { OAuthRequest, OAuthRoute } from './oauth.guard';
import { OAuthRedirect, OAuthService } from './oauth.service';

function identityOf(req: OAuthRequest): OAuthIdentity {
  if (!req.oauthIdentity) throw new AppError('OAUTH_FAILED', 'The sign-in did not produce an identity');
  return req.oauthIdentity;
}

/** A documented error response with an example in the shared shape. */
function errorDoc(status: number, code: ErrorCode, message: string) {
  return ApiResponse({
    status,
    description: `${message} (${code})`,
    content: {
      'application/json': {
        schema: { $ref: getSchemaPath(ErrorResponseDto) },
        example: {
          statusCode: status,
          error: STATUS_CODES[status],
          message,
          code,
          requestId: 'b3c5a3f0-5d2e-4f51-9c1e-0a7f2d4e6b18',
        },
      },
    },
  });
}

const NOT_CONFIGURED = errorDoc(
  404,
  'OAUTH_PROVIDER_NOT_CONFIGURED',
  'Sign-in with this provider is not configured on this server',
);

const StartDocs = () =>
  applyDecorators(
    ApiFoundResponse({
      description:
        'Redirects to the provider, with a short-lived httpOnly state cookie bound to the `state` parameter',
    }),
    NOT_CONFIGURED,
  );

const CallbackDocs = () =>
  applyDecorators(
    ApiQuery({
      name: 'code',
      type: String,
      required: false,
      description: 'Authorization code from the provider',
    }),
    ApiQuery({
      name: 'state',
      type: String,
      required: false,
      description: 'The state this service sent to the provider',
    }),
    ApiQuery({
      name: 'error',
      type: String,
      required: false,
      description: 'Set by the provider when the user refused',
    }),
    ApiFoundResponse({
      description:
        'Redirects to OAUTH_REDIRECT_URL with `#accessToken=..&refreshToken=..&expiresIn=..&tokenType=Bearer` in the fragment',
    }),
    errorDoc(
      400,
      'OAUTH_STATE_INVALID',
      'The sign-in state is missing, expired or does not match this browser',
    ),
    errorDoc(
      401,
      'OAUTH_FAILED',
      'The provider refused the sign-in, or the account is deactivated (USER_INACTIVE)',
    ),
    NOT_CONFIGURED,
    errorDoc(
      409,
      'OAUTH_EMAIL_UNVERIFIED',
      'The provider did not report a verified e-mail address for this account',
    ),
    errorDoc(502, 'OAUTH_PROVIDER_ERROR', 'The provider could not be reached or answered with an error'),
  );

@ApiTags('auth')
@Controller('auth')
export class OAuthController {
  constructor(private readonly oauth: OAuthService) {}

  @Get('google')
  @HttpCode(302)
  @OAuthRoute('google', 'start')
  @ApiOperation({ operationId: 'googleSignIn', summary: 'Start signing in with Google' })
  @StartDocs()
  googleSignIn(): void {
    // Never reached: the guard has already redirected to Google.
  }

  @Get('google/callback')
  @HttpCode(302)
  @OAuthRoute('google', 'callback')
  @Redirect()
  @ApiOperation({ operationId: 'googleCallback', summary: 'Google redirects back here' })
  @CallbackDocs()
  googleCallback(@Req() req: OAuthRequest): Promise<OAuthRedirect> {
    return this.oauth.completeSignIn(identityOf(req));
  }

  @Get('github')
  @HttpCode(302)
  @OAuthRoute('github', 'start')
  @ApiOperation({ operationId: 'githubSignIn', summary: 'Start signing in with GitHub' })
  @StartDocs()
  githubSignIn(): void {
    // Never reached: the guard has already redirected to GitHub.
  }

  @Get('github/callback')
  @HttpCode(302)
  @OAuthRoute('github', 'callback')
  @Redirect()
  @ApiOperation({ operationId: 'githubCallback', summary: 'GitHub redirects back here' })
  @CallbackDocs()
  githubCallback(@Req() req: OAuthRequest): Promise<OAuthRedirect> {
    return this.oauth.completeSignIn(identityOf(req));
  }
}
