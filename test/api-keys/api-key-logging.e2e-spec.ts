import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PARAMS_PROVIDER_TOKEN } from 'nestjs-pino';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { loadConfig } from '../../src/config/app.config';
import { buildLoggerOptions } from '../../src/config/logger.options';
import { createTestDatabase, TEST_REDIS_URL } from '../support/test-app';

jest.setTimeout(60_000);

/**
 * The whole app at log level `trace` with the production logger options, its pino output captured in memory,
 * plus anything written through console or process.stdout/stderr: an issued API key must appear in none of it.
 */
describe('API keys never reach the logs (e2e)', () => {
  const lines: string[] = [];
  let app: NestExpressApplication;
  let drop: () => Promise<void>;
  let storageDir: string;
  const spies: jest.SpyInstance[] = [];

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    storageDir = mkdtempSync(path.join(tmpdir(), 'modelport-logtest-'));
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'trace',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: `mptest:${db.name}`,
      STORAGE_DIR: storageDir,
      PORT: '0',
    });
    const capture = { write: (chunk: string) => void lines.push(String(chunk)) };
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
      .overrideProvider(PARAMS_PROVIDER_TOKEN)
      .useValue({ ...buildLoggerOptions(config), pinoHttp: [buildLoggerOptions(config).pinoHttp, capture] })
      .compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false });
    configureApp(app);
    await app.init();
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      spies.push(
        jest
          .spyOn(console, method)
          .mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' '))),
      );
    }
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      spies.push(
        jest.spyOn(stream, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
          lines.push(String(chunk));
          return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
        }),
      );
    }
  });

  afterAll(async () => {
    for (const spy of spies) spy.mockRestore();
    await app?.close();
    await drop?.();
    rmSync(storageDir, { recursive: true, force: true });
  });

  it('logs requests made with a key (accepted, refused, revoked) with the credential redacted', async () => {
    const http = () => request(app.getHttpServer());
    const email = `log-${Date.now()}@example.com`;
    const reg = await http()
      .post('/api/v1/auth/register')
      .send({ email, password: 'correct horse battery', fullName: 'Log' });
    expect(reg.status).toBe(201);
    const jwt = { Authorization: `Bearer ${reg.body.accessToken as string}` };
    const created = await http().post('/api/v1/api-keys').set(jwt).send({ name: 'logged' });
    expect(created.status).toBe(201);
    const key = created.body.key as string;

    expect((await http().get('/api/v1/users/me').set('X-API-Key', key)).status).toBe(200);
    expect((await http().get('/api/v1/users/me').set('Authorization', `Bearer ${key}`)).status).toBe(200);
    expect((await http().get('/api/v1/api-keys').set('X-API-Key', key)).status).toBe(403);
    expect((await http().get('/api/v1/nope').set('X-API-Key', key)).status).toBe(404);
    expect(
      (
        await http()
          .get('/api/v1/users/me')
          .set(
            'X-API-Key',
            key.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')),
          )
      ).status,
    ).toBe(401);
    expect(
      (
        await http()
          .delete(`/api/v1/api-keys/${created.body.id as string}`)
          .set(jwt)
      ).status,
    ).toBe(204);
    expect((await http().get('/api/v1/users/me').set('X-API-Key', key)).status).toBe(401);
    expect((await http().get('/api/v1/users/me').set('Authorization', `Bearer ${key}`)).status).toBe(401);

    const log = lines.join('\n');
    // The requests were logged (so the test can fail), with the credential headers censored...
    expect(log).toContain('/api/v1/users/me');
    expect(log).toContain('[redacted]');
    // ...and neither the key nor its secret part appears anywhere.
    expect(log).not.toContain(key);
    expect(log).not.toContain(key.slice(3, 35));
  });
});
