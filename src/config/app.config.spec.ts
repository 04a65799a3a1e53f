import { ConfigError, loadConfig } from './app.config';

describe('loadConfig', () => {
  const saved = process.env;
  beforeEach(() => {
    // Only what each test passes counts, not the developer's shell.
    process.env = {};
  });
  afterAll(() => {
    process.env = saved;
  });

  function problemsOf(env: Record<string, string>): string[] {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    throw new Error('expected a ConfigError');
  }

  const PROD_SECRETS = {
    JWT_SECRET: 'a'.repeat(40),
    JWT_REFRESH_SECRET: 'b'.repeat(40),
    WEBHOOK_SECRET_KEY: Buffer.alloc(32, 1).toString('base64'),
  };

  it('works with no environment at all, with local development defaults', () => {
    const config = loadConfig();
    expect(config.nodeEnv).toBe('development');
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/modelport');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.jwt.accessTtlSeconds).toBe(900);
    expect(config.jwt.refreshTtlSeconds).toBe(30 * 86_400);
    expect(config.jwt.secret).not.toBe(config.jwt.refreshSecret);
    expect(config.oauth).toEqual({
      google: null,
      github: null,
      redirectUrl: 'http://localhost:3000/docs',
      callbackBaseUrl: null,
    });
    expect(config.limits.jsonBodyBytes).toBe(2 * 1024 * 1024);
  });

  it('treats blank variables as unset', () => {
    expect(loadConfig({ PORT: '  ', JWT_SECRET: '' }).port).toBe(3000);
  });

  it('refuses to start in production on the public default secrets, naming each variable', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.join('\n')).toMatch(/JWT_SECRET must be set in production/);
    expect(problems.join('\n')).toMatch(/JWT_REFRESH_SECRET must be set in production/);
    expect(problems.join('\n')).toMatch(/WEBHOOK_SECRET_KEY must be set in production/);
  });

  it('names only the secret still missing in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production', ...PROD_SECRETS, JWT_REFRESH_SECRET: '' });
    expect(problems).toEqual([expect.stringContaining('JWT_REFRESH_SECRET')]);
  });

  it('starts in production with real secrets', () => {
    const config = loadConfig({ NODE_ENV: 'production', ...PROD_SECRETS });
    expect(config.nodeEnv).toBe('production');
    expect(config.jwt.secret).toBe(PROD_SECRETS.JWT_SECRET);
  });

  it.each(['abc', '70000', '-1', '3000.5'])('names PORT when it is %p', (port) => {
    const problems = problemsOf({ PORT: port });
    expect(problems).toEqual([expect.stringContaining('PORT')]);
    expect(problems[0]).toContain(port);
  });

  it('runs no webhook workers and an API role unless told, and names a bad WEBHOOK_WORKERS or role', () => {
    const defaults = loadConfig();
    expect([defaults.webhookWorkers, defaults.processRole]).toEqual([0, 'api']);
    const set = loadConfig({ WEBHOOK_WORKERS: '2', MODELPORT_PROCESS_ROLE: 'webhooks' });
    expect([set.webhookWorkers, set.processRole]).toEqual([2, 'webhooks']);
    expect(problemsOf({ WEBHOOK_WORKERS: '-1' })).toEqual([expect.stringContaining('WEBHOOK_WORKERS')]);
    expect(problemsOf({ MODELPORT_PROCESS_ROLE: 'cron' })).toEqual([
      expect.stringContaining('MODELPORT_PROCESS_ROLE'),
    ]);
  });

  it('lists every bad variable in one readable error', () => {
    try {
      loadConfig({ PORT: 'x', DATABASE_URL: 'mysql://db', NODE_ENV: 'staging', JWT_ACCESS_TTL_SECONDS: '1' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/^Invalid configuration:/);
      for (const name of ['PORT', 'DATABASE_URL', 'NODE_ENV', 'JWT_ACCESS_TTL_SECONDS'])
        expect(message).toContain(name);
    }
  });

  it('refuses short or identical JWT secrets', () => {
    expect(problemsOf({ JWT_SECRET: 'short' })).toEqual([
      expect.stringContaining('JWT_SECRET must be at least 32'),
    ]);
    expect(problemsOf({ JWT_SECRET: 'c'.repeat(40), JWT_REFRESH_SECRET: 'c'.repeat(40) })).toEqual([
      expect.stringContaining('must differ'),
    ]);
  });

  it('configures a provider only when both its client id and secret are set', () => {
    expect(problemsOf({ GOOGLE_CLIENT_ID: 'id' })).toEqual([
      'GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together',
    ]);
    const config = loadConfig({
      GOOGLE_CLIENT_ID: 'gid',
      GOOGLE_CLIENT_SECRET: 'gsecret',
      GITHUB_CLIENT_ID: 'hid',
      GITHUB_CLIENT_SECRET: 'hs',
    });
    expect(config.oauth.google).toEqual({
      clientId: 'gid',
      clientSecret: 'gsecret',
      authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
      tokenUrl: 'https://oauth2.googleapis.com/token',
      profileUrl: 'https://openidconnect.googleapis.com/v1/userinfo',
      emailsUrl: undefined,
      scope: ['openid', 'email', 'profile'],
    });
    expect(config.oauth.github).toEqual(
      expect.objectContaining({
        emailsUrl: 'https://api.github.com/user/emails',
        scope: ['read:user', 'user:email'],
      }),
    );
  });

  it('takes the provider URLs from the environment and names a bad one', () => {
    const config = loadConfig({
      GITHUB_CLIENT_ID: 'id',
      GITHUB_CLIENT_SECRET: 's',
      GITHUB_AUTHORIZATION_URL: 'http://127.0.0.1:9999/authorize',
      GITHUB_EMAILS_URL: 'http://127.0.0.1:9999/emails',
      GITHUB_SCOPE: 'user:email',
    });
    expect(config.oauth.github).toEqual(
      expect.objectContaining({
        authorizationUrl: 'http://127.0.0.1:9999/authorize',
        emailsUrl: 'http://127.0.0.1:9999/emails',
        scope: ['user:email'],
      }),
    );
    expect(
      problemsOf({ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 's', GOOGLE_TOKEN_URL: 'not a url' }),
    ).toEqual([expect.stringContaining('GOOGLE_TOKEN_URL')]);
  });

  it('uses PUBLIC_URL (without a trailing slash) as the OAuth callback base when it is set', () => {
    const config = loadConfig({ PUBLIC_URL: 'https://api.example.com/' });
    expect(config.publicUrl).toBe('https://api.example.com');
    expect(config.oauth.callbackBaseUrl).toBe('https://api.example.com');
    expect(config.oauth.redirectUrl).toBe('https://api.example.com/docs');
  });
});
