import type { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/app.config';
import { fetchJson } from './oauth-profiles';
import { OAuthGuard } from './oauth.guard';
import { OAuthService } from './oauth.service';
import { OAuthStrategies } from './oauth.strategies';

/** Everything AuthModule registers for OAuth sign-in (strategies only for the configured providers). */
export const OAUTH_PROVIDERS: Provider[] = [
  {
    provide: OAuthStrategies,
    inject: [ConfigService],
    useFactory: (config: ConfigService<AppConfig, true>) =>
      new OAuthStrategies(
        {
          oauth: config.get('oauth', { infer: true }),
          jwt: config.get('jwt', { infer: true }),
          publicUrl: config.get('publicUrl', { infer: true }),
        },
        fetchJson,
      ),
  },
  OAuthGuard,
  OAuthService,
];
