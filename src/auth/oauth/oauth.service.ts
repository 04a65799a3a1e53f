import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppError } from '../../common/app-error';
import type { AppConfig } from '../../config/app.config';
import { OAuthIdentity, UsersService } from '../../users/users.service';
import { AuthService } from '../auth.service';

/** Where the callback sends the browser (Nest's @Redirect() reads it). */
export interface OAuthRedirect {
  url: string;
  statusCode: 302;
}

/** Finishes a provider sign-in: find, link or create the user, then hand the tokens to the configured page. */
@Injectable()
export class OAuthService {
  private readonly redirectUrl: string;

  constructor(
    private readonly users: UsersService,
    private readonly auth: AuthService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.redirectUrl = config.get('oauth', { infer: true }).redirectUrl;
  }

  /** The tokens travel in the URL fragment, which browsers never send to a server or put in Referer. */
  async completeSignIn(identity: OAuthIdentity): Promise<OAuthRedirect> {
    const user = await this.users.findOrCreateFromOAuth(identity);
    if (!user.isActive) throw new AppError('USER_INACTIVE', 'This account is deactivated');
    const { accessToken, refreshToken, expiresIn, tokenType } = await this.auth.signIn(user);
    const fragment = new URLSearchParams({
      accessToken,
      refreshToken,
      expiresIn: String(expiresIn),
      tokenType,
    });
    const url = new URL(this.redirectUrl);
    url.hash = fragment.toString();
    return { url: url.toString(), statusCode: 302 };
  }
}
