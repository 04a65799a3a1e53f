import { Controller, Get, Redirect, Req } from '@nestjs/common';
import { ApiFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppError } from '../../common/app-error';
import type { OAuthIdentity } from '../../users/users.service';
import { OAuthRequest, OAuthRoute } from './oauth.guard';
import type { OAuthRedirectDto } from './oauth.dto';
import { OAuthService } from './oauth.service';

function identityOf(req: OAuthRequest): OAuthIdentity {
  if (!req.oauthIdentity) throw new AppError('OAUTH_FAILED', 'The sign-in did not produce an identity');
  return req.oauthIdentity;
}

const START =
  'Redirects (302) to the provider; sets a short-lived state cookie. 404 when the provider is not configured.';
const CALLBACK =
  'Redirects (302) to the configured OAUTH_REDIRECT_URL with #accessToken=..&refreshToken=..&expiresIn=.. in the fragment.';

@ApiTags('auth')
@Controller('auth')
export class OAuthController {
  constructor(private readonly oauth: OAuthService) {}

  @Get('google')
  @OAuthRoute('google', 'start')
  @ApiOperation({ operationId: 'googleSignIn', summary: 'Start signing in with Google' })
  @ApiFoundResponse({ description: START })
  googleSignIn(): void {
    // Never reached: the guard has already redirected to Google.
  }

  @Get('google/callback')
  @OAuthRoute('google', 'callback')
  @Redirect()
  @ApiOperation({ operationId: 'googleCallback', summary: 'Google redirects back here' })
  @ApiFoundResponse({ description: CALLBACK })
  googleCallback(@Req() req: OAuthRequest): Promise<OAuthRedirectDto> {
    return this.oauth.completeSignIn(identityOf(req));
  }

  @Get('github')
  @OAuthRoute('github', 'start')
  @ApiOperation({ operationId: 'githubSignIn', summary: 'Start signing in with GitHub' })
  @ApiFoundResponse({ description: START })
  githubSignIn(): void {
    // Never reached: the guard has already redirected to GitHub.
  }

  @Get('github/callback')
  @OAuthRoute('github', 'callback')
  @Redirect()
  @ApiOperation({ operationId: 'githubCallback', summary: 'GitHub redirects back here' })
  @ApiFoundResponse({ description: CALLBACK })
  githubCallback(@Req() req: OAuthRequest): Promise<OAuthRedirectDto> {
    return this.oauth.completeSignIn(identityOf(req));
  }
}
