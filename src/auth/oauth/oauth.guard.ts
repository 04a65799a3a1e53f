import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type passport from 'passport';
import { AuthorizationError, InternalOAuthError, TokenError } from 'passport-oauth2';
import { AppError } from '../../common/app-error';
import { Public } from '../../common/decorators';
import type { OAuthProvider } from '../../users/user.entity';
import type { OAuthIdentity } from '../../users/users.service';
import { OAUTH_STATE_INVALID_MESSAGE, stateCookieName, stateCookiePath } from './oauth-state.store';
import { OAuthStrategies } from './oauth.strategies';

export const OAUTH_PROVIDER = 'modelport:oauthProvider';
export const OAUTH_STEP = 'modelport:oauthStep';
export type OAuthStep = 'start' | 'callback';

export interface OAuthRequest extends Request {
  oauthIdentity?: OAuthIdentity;
}

const PROVIDER_NAMES: Record<OAuthProvider, string> = { google: 'Google', github: 'GitHub' };

/** Turns whatever passport-oauth2 reports into the shared error shape (never a 500 for a provider problem). */
export function mapOAuthError(provider: OAuthProvider, err: unknown): AppError {
  const name = PROVIDER_NAMES[provider];
  if (err instanceof AppError) return err;
  if (err instanceof TokenError || err instanceof AuthorizationError) {
    return new AppError(
      'OAUTH_FAILED',
      `${name} refused the sign-in: ${err.code}${err.message ? ` (${err.message})` : ''}`,
    );
  }
  if (err instanceof InternalOAuthError) {
    return new AppError('OAUTH_PROVIDER_ERROR', `${name} could not complete the sign-in: ${err.message}`);
  }
  return new AppError('OAUTH_PROVIDER_ERROR', `${name} sign-in failed`);
}

/**
 * Runs this app's passport strategy for the route's provider. On the start route passport answers with the
 * 302 to the provider itself; on the callback the verified identity is left on `req.oauthIdentity`.
 */
@Injectable()
export class OAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(OAuthStrategies) private readonly strategies: OAuthStrategies,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const provider = this.reflector.get<OAuthProvider>(OAUTH_PROVIDER, context.getHandler());
    const step = this.reflector.get<OAuthStep>(OAUTH_STEP, context.getHandler());
    const name = PROVIDER_NAMES[provider];
    if (!this.strategies.isConfigured(provider)) {
      throw new AppError(
        'OAUTH_PROVIDER_NOT_CONFIGURED',
        `Sign-in with ${name} is not configured on this server (set ${provider.toUpperCase()}_CLIENT_ID and ${provider.toUpperCase()}_CLIENT_SECRET)`,
      );
    }
    const http = context.switchToHttp();
    const req = http.getRequest<OAuthRequest>();
    const res = http.getResponse<Response>();
    res.setHeader('Cache-Control', 'no-store');

    if (step === 'callback') {
      // The state cookie is single-use, whatever the outcome.
      res.clearCookie(stateCookieName(provider), { path: stateCookiePath(provider) });
      if (typeof req.query.error !== 'string' && typeof req.query.code !== 'string') {
        throw new AppError(
          'OAUTH_STATE_INVALID',
          `The ${name} callback needs a code and a state; start the sign-in again`,
        );
      }
    }

    const outcome = await new Promise<{ identity?: OAuthIdentity; failure?: unknown; redirected?: boolean }>(
      (resolve, reject) => {
        res.once('finish', () => resolve({ redirected: true }));
        // passport-oauth2 reads callbackURL from the per-request options (not in passport's own option type).
        const options = {
          session: false,
          callbackURL: this.callbackUrl(req, provider),
        } as passport.AuthenticateOptions;
        const middleware = this.strategies.passport.authenticate(
          provider,
          options,
          (err: unknown, identity: OAuthIdentity | false, info: unknown) => {
            if (err) reject(mapOAuthError(provider, err));
            else if (!identity) resolve({ failure: info });
            else resolve({ identity });
          },
        ) as (req: Request, res: Response, next: (err?: unknown) => void) => void;
        middleware(req, res, (err?: unknown) => reject(mapOAuthError(provider, err)));
      },
    );

    if (outcome.redirected) return false; // passport already answered with the 302 to the provider
    if (outcome.identity) {
      req.oauthIdentity = outcome.identity;
      return true;
    }
    const info = (outcome.failure ?? {}) as { code?: unknown; message?: unknown };
    if (info.code === 'OAUTH_STATE_INVALID')
      throw new AppError('OAUTH_STATE_INVALID', OAUTH_STATE_INVALID_MESSAGE);
    const reason = typeof info.message === 'string' && info.message ? `: ${info.message}` : '';
    throw new AppError('OAUTH_FAILED', `The sign-in with ${name} was cancelled or refused${reason}`);
  }

  private callbackUrl(req: Request, provider: OAuthProvider): string {
    const base = this.strategies.callbackBaseUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
    return `${base}${stateCookiePath(provider)}/callback`;
  }
}

/** A public route that runs the OAuth flow of `provider` (the redirect to it, or its callback). */
export const OAuthRoute = (provider: OAuthProvider, step: OAuthStep) =>
  applyDecorators(
    Public(),
    SetMetadata(OAUTH_PROVIDER, provider),
    SetMetadata(OAUTH_STEP, step),
    UseGuards(OAuthGuard),
  );
