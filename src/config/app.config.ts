import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The whole configuration of the service, typed. `loadConfig()` is the only place in `src/` that reads
 * `process.env`; everything else receives an `AppConfig` (through `ConfigService<AppConfig, true>`).
 */
export interface OAuthProviderConfig {
  clientId: string;
  clientSecret: string;
  authorizationUrl: string;
  tokenUrl: string;
  profileUrl: string;
  /** GitHub only: where the verified e-mail addresses are listed. */
  emailsUrl?: string;
  scope: string[];
}

export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  /** `npm start` runs this many API processes (node:cluster workers sharing `port`); 1 = no cluster. */
  webConcurrency: number;
  /**
   * `npm start` also runs this many webhook-only processes (node:cluster workers that relay and deliver, no HTTP);
   * while there are any, the API processes leave delivery to them.
   */
  webhookWorkers: number;
  /** What a node:cluster worker of `npm start` is: set by the primary when it forks (MODELPORT_PROCESS_ROLE). */
  processRole: 'api' | 'webhooks';
  publicUrl: string;
  databaseUrl: string;
  redisUrl: string;
  /** Prefix of every Redis key this process writes (queues, refresh tokens, caches). */
  redisPrefix: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  jwt: {
    secret: string;
    refreshSecret: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
  };
  oauth: {
    google: OAuthProviderConfig | null;
    github: OAuthProviderConfig | null;
    /** Where the browser is sent after a successful sign-in, tokens in the URL fragment. */
    redirectUrl: string;
    /**
     * Base of the callback URLs given to the providers: PUBLIC_URL when it is set, else null (taken from each
     * request's protocol and host, X-Forwarded-* honoured from loopback proxies only).
     */
    callbackBaseUrl: string | null;
  };
  storageDir: string;
  limits: {
    jsonBodyBytes: number;
    uploadBytes: number;
    inputElements: number;
  };
  inference: {
    sessionCacheMaxCount: number;
    sessionCacheMaxBytes: number;
    intraOpThreads: number;
    timeoutMs: number;
    /**
     * Dynamic batching: concurrent predictions on the same model (dynamic batch dim) that arrive within this many
     * milliseconds run as one `session.run`; 0 turns it off.
     */
    batchWindowMs: number;
    /** A batch is run as soon as it holds this many rows (requests with more rows run on their own). */
    batchMaxRows: number;
  };
  webhooks: {
    encryptionKey: Buffer;
    allowPrivateTargets: boolean;
    consumeQueue: boolean;
    /** First retry delay; each retry doubles it (with jitter) up to backoffMaxMs. */
    backoffBaseMs: number;
    backoffMaxMs: number;
    /** A receiver's Retry-After is honoured up to this long. */
    retryAfterMaxMs: number;
    /** A webhook is disabled after this many events in a row failed for good. */
    disableAfterFailures: number;
    /** How often the outbox relay polls (it is also nudged right after each commit). */
    relayIntervalMs: number;
    /** After a nudge, the relay waits this long so the events of concurrent commits go in one batch. */
    relayDebounceMs: number;
    /**
     * The relay queues no more jobs while this many wait in Bull (a job: up to 100 first attempts, or one retry);
     * the rest wait in Postgres.
     */
    queueHighWater: number;
    /** Webhook requests one process has in flight at once. */
    deliveryConcurrency: number;
  };
  metrics: {
    token: string | null;
  };
  throttle: {
    authPerMinute: number;
    predictionsPerMinute: number;
  };
}

type Env = Record<string, string | undefined>;

const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me-0000000000';
const DEV_JWT_REFRESH_SECRET = 'dev-only-jwt-refresh-secret-change-me-00';
const DEV_WEBHOOK_KEY = Buffer.alloc(32, 7).toString('base64');

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    this.problems.push(`${name} must be true or false (got "${value}")`);
    return fallback;
  }

  url(name: string, fallback: string, protocols: string[]): string {
    const value = this.string(name, fallback);
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) {
        this.problems.push(`${name} must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
      }
    } catch {
      this.problems.push(`${name} must be a URL (got "${value}")`);
    }
    return value;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name) ?? fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    }
    return value as T;
  }
}

function oauthProvider(
  r: Reader,
  prefix: 'GOOGLE' | 'GITHUB',
  defaults: {
    authorizationUrl: string;
    tokenUrl: string;
    profileUrl: string;
    emailsUrl?: string;
    scope: string;
  },
): OAuthProviderConfig | null {
  const clientId = r.raw(`${prefix}_CLIENT_ID`);
  const clientSecret = r.raw(`${prefix}_CLIENT_SECRET`);
  if (!clientId && !clientSecret) return null;
  if (!clientId || !clientSecret) {
    r.problems.push(`${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET must be set together`);
    return null;
  }
  const http = ['http:', 'https:'];
  return {
    clientId,
    clientSecret,
    authorizationUrl: r.url(`${prefix}_AUTHORIZATION_URL`, defaults.authorizationUrl, http),
    tokenUrl: r.url(`${prefix}_TOKEN_URL`, defaults.tokenUrl, http),
    profileUrl: r.url(`${prefix}_PROFILE_URL`, defaults.profileUrl, http),
    emailsUrl: defaults.emailsUrl ? r.url(`${prefix}_EMAILS_URL`, defaults.emailsUrl, http) : undefined,
    scope: r
      .string(`${prefix}_SCOPE`, defaults.scope)
      .split(/[\s,]+/)
      .filter(Boolean),
  };
}

/**
 * Reads and validates the configuration. `overrides` win over the environment (tests use them to point a
 * suite at its own database). Throws a ConfigError naming every bad variable.
 */
export function loadConfig(overrides: Env = {}): AppConfig {
  const r = new Reader({ ...process.env, ...overrides });
  const nodeEnv = r.oneOf('NODE_ENV', 'development', ['development', 'production', 'test'] as const);
  const port = r.int('PORT', 3000, 0, 65535);

  const jwtSecret = r.string('JWT_SECRET', DEV_JWT_SECRET);
  const jwtRefreshSecret = r.string('JWT_REFRESH_SECRET', DEV_JWT_REFRESH_SECRET);
  const webhookKeyRaw = r.string('WEBHOOK_SECRET_KEY', DEV_WEBHOOK_KEY);
  let encryptionKey = Buffer.from(webhookKeyRaw, 'base64');
  if (encryptionKey.length !== 32) {
    r.problems.push('WEBHOOK_SECRET_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
    encryptionKey = Buffer.from(DEV_WEBHOOK_KEY, 'base64');
  }

  if (nodeEnv === 'production') {
    if (jwtSecret === DEV_JWT_SECRET)
      r.problems.push('JWT_SECRET must be set in production (the default is public)');
    if (jwtRefreshSecret === DEV_JWT_REFRESH_SECRET) {
      r.problems.push('JWT_REFRESH_SECRET must be set in production (the default is public)');
    }
    if (webhookKeyRaw === DEV_WEBHOOK_KEY) {
      r.problems.push('WEBHOOK_SECRET_KEY must be set in production (the default is public)');
    }
  }
  for (const [name, value] of [
    ['JWT_SECRET', jwtSecret],
    ['JWT_REFRESH_SECRET', jwtRefreshSecret],
  ] as const) {
    if (value.length < 32) r.problems.push(`${name} must be at least 32 characters`);
  }
  if (jwtSecret === jwtRefreshSecret) r.problems.push('JWT_SECRET and JWT_REFRESH_SECRET must differ');

  const publicUrl = r.url('PUBLIC_URL', `http://localhost:${port}`, ['http:', 'https:']);

  const config: AppConfig = {
    nodeEnv,
    port,
    webConcurrency: r.int('WEB_CONCURRENCY', 1, 1, 64),
    webhookWorkers: r.int('WEBHOOK_WORKERS', 0, 0, 64),
    processRole: r.oneOf('MODELPORT_PROCESS_ROLE', 'api', ['api', 'webhooks'] as const),
    publicUrl: publicUrl.replace(/\/+$/, ''),
    databaseUrl: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/modelport', [
      'postgres:',
      'postgresql:',
    ]),
    redisUrl: r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    redisPrefix: r.string('REDIS_PREFIX', 'modelport'),
    logLevel: r.oneOf('LOG_LEVEL', nodeEnv === 'test' ? 'silent' : 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ] as const),
    jwt: {
      secret: jwtSecret,
      refreshSecret: jwtRefreshSecret,
      accessTtlSeconds: r.int('JWT_ACCESS_TTL_SECONDS', 900, 10, 86_400),
      refreshTtlSeconds: r.int('JWT_REFRESH_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
    },
    oauth: {
      google: oauthProvider(r, 'GOOGLE', {
        authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
        tokenUrl: 'https://oauth2.googleapis.com/token',
        profileUrl: 'https://openidconnect.googleapis.com/v1/userinfo',
        scope: 'openid email profile',
      }),
      github: oauthProvider(r, 'GITHUB', {
        authorizationUrl: 'https://github.com/login/oauth/authorize',
        tokenUrl: 'https://github.com/login/oauth/access_token',
        profileUrl: 'https://api.github.com/user',
        emailsUrl: 'https://api.github.com/user/emails',
        scope: 'read:user user:email',
      }),
      redirectUrl: r.url('OAUTH_REDIRECT_URL', `${publicUrl.replace(/\/+$/, '')}/docs`, ['http:', 'https:']),
      callbackBaseUrl: r.raw('PUBLIC_URL') ? publicUrl.replace(/\/+$/, '') : null,
    },
    storageDir: path.resolve(r.string('STORAGE_DIR', path.join(process.cwd(), 'storage'))),
    limits: {
      jsonBodyBytes: r.int('MAX_JSON_BODY_BYTES', 2 * 1024 * 1024, 1024, 512 * 1024 * 1024),
      uploadBytes: r.int('MAX_UPLOAD_BYTES', 100 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
      inputElements: r.int('MAX_INPUT_ELEMENTS', 1_000_000, 1, 100_000_000),
    },
    inference: {
      sessionCacheMaxCount: r.int('INFERENCE_CACHE_MAX_MODELS', 32, 1, 10_000),
      sessionCacheMaxBytes: r.int(
        'INFERENCE_CACHE_MAX_BYTES',
        512 * 1024 * 1024,
        1024,
        Number.MAX_SAFE_INTEGER,
      ),
      intraOpThreads: r.int('INFERENCE_INTRA_OP_THREADS', Math.max(1, Math.min(2, os.cpus().length)), 1, 256),
      timeoutMs: r.int('INFERENCE_TIMEOUT_MS', 30_000, 1, 600_000),
      batchWindowMs: r.int('INFERENCE_BATCH_WINDOW_MS', 2, 0, 1000),
      batchMaxRows: r.int('INFERENCE_BATCH_MAX_ROWS', 64, 1, 1_000_000),
    },
    webhooks: {
      encryptionKey,
      allowPrivateTargets: r.bool('WEBHOOKS_ALLOW_PRIVATE_TARGETS', false),
      consumeQueue: r.bool('WEBHOOKS_CONSUME_QUEUE', true),
      backoffBaseMs: r.int('WEBHOOKS_BACKOFF_BASE_MS', 30_000, 1, 86_400_000),
      backoffMaxMs: r.int('WEBHOOKS_BACKOFF_MAX_MS', 6 * 3_600_000, 1, 7 * 86_400_000),
      retryAfterMaxMs: r.int('WEBHOOKS_RETRY_AFTER_MAX_MS', 3_600_000, 0, 86_400_000),
      disableAfterFailures: r.int('WEBHOOKS_DISABLE_AFTER_FAILURES', 20, 1, 10_000),
      relayIntervalMs: r.int('WEBHOOKS_RELAY_INTERVAL_MS', 250, 10, 60_000),
      relayDebounceMs: r.int('WEBHOOKS_RELAY_DEBOUNCE_MS', 10, 0, 10_000),
      queueHighWater: r.int('WEBHOOKS_QUEUE_HIGH_WATER', 1_000, 1, 1_000_000),
      deliveryConcurrency: r.int('WEBHOOKS_DELIVERY_CONCURRENCY', 10, 1, 1000),
    },
    metrics: {
      token: r.raw('METRICS_TOKEN') ?? null,
    },
    throttle: {
      authPerMinute: r.int('THROTTLE_AUTH_PER_MINUTE', 10, 1, 1_000_000),
      predictionsPerMinute: r.int('THROTTLE_PREDICTIONS_PER_MINUTE', 6000, 1, 100_000_000),
    },
  };

  if (config.webhooks.allowPrivateTargets && nodeEnv === 'production') {
    r.problems.push('WEBHOOKS_ALLOW_PRIVATE_TARGETS must not be true in production');
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

/** A random secret of the given byte length, base64url-encoded (for tests and tooling). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
