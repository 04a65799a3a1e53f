import { MikroORM } from '@mikro-orm/postgresql';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { AppConfig, loadConfig } from '../../src/config/app.config';
import { prepareDatabase } from '../../src/database/prepare-database';

export const BASE_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  databaseUrl: string;
  /** supertest against the in-process server */
  http: () => ReturnType<typeof request>;
  /** the base URL when started with `listen: true` */
  baseUrl: string;
  orm: MikroORM;
  close: () => Promise<void>;
}

/** A database URL of its own for one test file (created and migrated). */
export async function createTestDatabase(): Promise<{
  name: string;
  url: string;
  drop: () => Promise<void>;
}> {
  const name = `mp_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/${name}`;
  await prepareDatabase(url.toString());
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const client = new Client({ connectionString: BASE_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Boots the whole service against its own Postgres database, Redis key prefix and storage folder, so test files
 * are isolated and can run in any order.
 */
export async function createTestApp(
  options: {
    env?: Record<string, string>;
    listen?: boolean;
    /** Boot a second instance of that app: same database, Redis prefix and storage (its close() leaves them be). */
    sameStateAs?: TestApp;
  } = {},
): Promise<TestApp> {
  const shared = options.sameStateAs;
  const db = shared
    ? { name: shared.config.redisPrefix, url: shared.databaseUrl, drop: () => Promise.resolve() }
    : await createTestDatabase();
  const storageDir = shared ? shared.config.storageDir : mkdtempSync(path.join(tmpdir(), 'modelport-test-'));
  const redisPrefix = shared ? shared.config.redisPrefix : `mptest:${db.name}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    STORAGE_DIR: storageDir,
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    PORT: '0',
    // Suites register many users and run many predictions; the throttle tests set low limits themselves.
    THROTTLE_AUTH_PER_MINUTE: '1000000',
    THROTTLE_PREDICTIONS_PER_MINUTE: '100000000',
    ...options.env,
  });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false });
  configureApp(app);
  let baseUrl = '';
  if (options.listen) {
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  } else {
    await app.init();
  }
  return {
    app,
    config,
    databaseUrl: db.url,
    http: () => request(app.getHttpServer()),
    baseUrl,
    orm: app.get(MikroORM),
    close: async () => {
      await app.close();
      if (shared) return;
      await db.drop();
      rmSync(storageDir, { recursive: true, force: true });
      await deleteRedisKeys(`${redisPrefix}:*`);
    },
  };
}

async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

let counter = 0;
/** A unique e-mail for a test user. */
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}-${Date.now().toString(36)}-${counter}@example.com`;
}

export interface RegisteredUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export async function registerUser(t: TestApp, label = 'user'): Promise<RegisteredUser> {
  const email = uniqueEmail(label);
  const password = 'correct horse battery staple';
  const res = await t
    .http()
    .post('/api/v1/auth/register')
    .send({ email, password, fullName: `Test ${label}` });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  const body = res.body as { accessToken: string; refreshToken: string; user: { id: string } };
  return {
    id: body.user.id,
    email,
    password,
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
  };
}

/** Makes a registered user an administrator directly in the database (as the operator CLI would). */
export async function makeAdmin(t: TestApp, userId: string): Promise<void> {
  await t.orm.em.getConnection().execute('update users set is_admin = true where id = ?', [userId]);
}

export function expectErrorShape(body: unknown, status: number, code?: string): void {
  expect(body).toEqual(
    expect.objectContaining({
      statusCode: status,
      error: expect.any(String),
      message: expect.any(String),
      code: code ?? expect.any(String),
      requestId: expect.any(String),
    }),
  );
}
