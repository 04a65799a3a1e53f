import passport from 'passport';
import { Strategy as OAuth2Strategy, type VerifyCallback } from 'passport-oauth2';
import type { AppConfig, OAuthProviderConfig } from '../../config/app.config';
import type { OAuthProvider } from '../../users/user.entity';
import type { OAuthIdentity } from '../../users/users.service';
import { FetchJson, loadGitHubIdentity, loadGoogleIdentity } from './oauth-profiles';
import { OAuthStateStore } from './oauth-state.store';

/** The profile step already produced an OAuthIdentity; the verify step passes it on. */
function passIdentity(
  _accessToken: string,
  _refreshToken: string,
  identity: OAuthIdentity,
  done: VerifyCallback,
): void {
  done(null, identity);
}

function strategyOptions(provider: OAuthProvider, config: OAuthProviderConfig, state: OAuthStateStore) {
  return {
    clientID: config.clientId,
    clientSecret: config.clientSecret,
    authorizationURL: config.authorizationUrl,
    tokenURL: config.tokenUrl,
    scope: config.scope,
    store: state as never,
    // GitHub answers form-encoded unless asked for JSON; both parse, JSON is clearer.
    customHeaders: { Accept: 'application/json', 'User-Agent': 'modelport' },
    sessionKey: `modelport:oauth:${provider}`,
  };
}

/** Sign-in with Google (OIDC userinfo as the profile). */
export class GoogleStrategy extends OAuth2Strategy {
  constructor(
    private readonly config: OAuthProviderConfig,
    state: OAuthStateStore,
    private readonly fetchJson: FetchJson,
  ) {
    super(strategyOptions('google', config, state), passIdentity);
    this.name = 'google';
  }

  override userProfile(accessToken: string, done: (err?: unknown, profile?: OAuthIdentity) => void): void {
    loadGoogleIdentity(this.fetchJson, this.config.profileUrl, accessToken).then(
      (identity) => done(null, identity),
      (err: unknown) => done(err),
    );
  }
}

/** Sign-in with GitHub (`/user` plus the primary verified address of `/user/emails`). */
export class GitHubStrategy extends OAuth2Strategy {
  constructor(
    private readonly config: OAuthProviderConfig,
    state: OAuthStateStore,
    private readonly fetchJson: FetchJson,
  ) {
    super(strategyOptions('github', config, state), passIdentity);
    this.name = 'github';
  }

  override userProfile(accessToken: string, done: (err?: unknown, profile?: OAuthIdentity) => void): void {
    loadGitHubIdentity(this.fetchJson, this.config.profileUrl, this.config.emailsUrl, accessToken).then(
      (identity) => done(null, identity),
      (err: unknown) => done(err),
    );
  }
}

/**
 * This app's passport instance: a private Authenticator (not the process-global one) holding a strategy for
 * each configured provider only, so two apps in one process (tests) never share strategies.
 */
export class OAuthStrategies {
  readonly passport = new passport.Authenticator();
  private readonly configured = new Set<OAuthProvider>();
  /** See AppConfig.oauth.callbackBaseUrl. */
  readonly callbackBaseUrl: string | null;

  constructor(config: Pick<AppConfig, 'oauth' | 'jwt' | 'publicUrl'>, fetchJson: FetchJson) {
    this.callbackBaseUrl = config.oauth.callbackBaseUrl;
    const secure = (config.oauth.callbackBaseUrl ?? config.publicUrl).startsWith('https:');
    const { google, github } = config.oauth;
    if (google) {
      this.passport.use(
        new GoogleStrategy(google, new OAuthStateStore('google', config.jwt.secret, secure), fetchJson),
      );
      this.configured.add('google');
    }
    if (github) {
      this.passport.use(
        new GitHubStrategy(github, new OAuthStateStore('github', config.jwt.secret, secure), fetchJson),
      );
      this.configured.add('github');
    }
  }

  isConfigured(provider: OAuthProvider): boolean {
    return this.configured.has(provider);
  }
}
