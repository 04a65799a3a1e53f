import { MikroORM } from '@mikro-orm/postgresql';
import type Redis from 'ioredis';
import * as http from 'node:http';
import { Client } from 'pg';
import { REDIS } from '../../src/redis/redis.module';
import { createTestApp, expectErrorShape, TestApp, uniqueEmail } from '../support/test-app';

jest.setTimeout(60_000);

describe('body limit, unknown routes and request ids (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { MAX_JSON_BODY_BYTES: '2048', THROTTLE_AUTH_PER_MINUTE: '100000' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers a JSON body over MAX_JSON_BODY_BYTES with 413 in the shared shape', async () => {
    const body = JSON.stringify({
      email: uniqueEmail('big'),
      password: 'long enough password',
      fullName: 'x'.repeat(3000),
    });
    const res = await t
      .http()
      .post('/api/v1/auth/register')
      .set('Content-Type', 'application/json')
      .send(body);
    expect(res.status).toBe(413);
    expectErrorShape(res.body, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.body.message).toContain('2048');
  });

  it('refuses a body that is not JSON with 415 before validating it; a bodyless request is not affected', async () => {
    const form = await t
      .http()
      .post('/api/v1/auth/refresh')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('refreshToken=abc');
    expectErrorShape(form.body, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(form.body.message).toBe(
      'Send the body as application/json (got application/x-www-form-urlencoded)',
    );
    const plain = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'text/plain')
      .send('{"email":"a@example.com","password":"x"}');
    expectErrorShape(plain.body, 415, 'UNSUPPORTED_MEDIA_TYPE');
    // No body at all: validated as an empty object (400), and charset parameters are fine.
    expectErrorShape((await t.http().post('/api/v1/auth/login')).body, 400, 'VALIDATION_FAILED');
    const withCharset = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json; charset=utf-8')
      .send('{}');
    expectErrorShape(withCharset.body, 400, 'VALIDATION_FAILED');
  });

  it('parses a body just under the limit (and validates it: 400, not 413)', async () => {
    const body = JSON.stringify({
      email: uniqueEmail('under'),
      password: 'long enough password',
      fullName: 'x'.repeat(1800),
    });
    expect(Buffer.byteLength(body)).toBeLessThan(2048);
    const res = await t
      .http()
      .post('/api/v1/auth/register')
      .set('Content-Type', 'application/json')
      .send(body);
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
    expect(res.body.message).toMatch(/fullName/);
  });

  it.each([
    ['GET', '/api/v1/does-not-exist'],
    ['POST', '/api/v1/auth/nope'],
    ['DELETE', '/api/v1/users/me'],
    ['GET', '/not-even-prefixed'],
  ])('answers %s %s with 404 ROUTE_NOT_FOUND in the shared shape', async (method, path) => {
    const res = await t.http()[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
    expect(res.status).toBe(404);
    expectErrorShape(res.body, 404, 'ROUTE_NOT_FOUND');
    expect(res.headers['content-type']).toMatch(/application\/json/);
  });

  it('echoes a well-formed X-Request-Id on successes and errors, in the header and the error body', async () => {
    const ok = await t.http().get('/health/live').set('X-Request-Id', 'trace-abc.123:x');
    expect(ok.headers['x-request-id']).toBe('trace-abc.123:x');
    const err = await t.http().get('/api/v1/users/me').set('X-Request-Id', 'trace-def-456');
    expect(err.status).toBe(401);
    expect(err.headers['x-request-id']).toBe('trace-def-456');
    expect(err.body.requestId).toBe('trace-def-456');
  });

  it('generates a fresh request id when none (or a malformed one) is given', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const a = await t.http().get('/api/v1/nope');
    const b = await t.http().get('/api/v1/nope');
    expect(a.headers['x-request-id']).toMatch(uuid);
    expect(a.body.requestId).toBe(a.headers['x-request-id']);
    expect(b.headers['x-request-id']).not.toBe(a.headers['x-request-id']);
    const bad = await t.http().get('/api/v1/nope').set('X-Request-Id', 'bad id with spaces <script>');
    expect(bad.headers['x-request-id']).toMatch(uuid);
    const long = await t.http().get('/api/v1/nope').set('X-Request-Id', 'a'.repeat(500));
    expect(long.headers['x-request-id']).toMatch(uuid);
  });

  it('gives a request id even to a body that fails to parse', async () => {
    const res = await t
      .http()
      .post('/api/v1/auth/register')
      .set('Content-Type', 'application/json')
      .set('X-Request-Id', 'broken-json-1')
      .send('{"email": ');
    expectErrorShape(res.body, 400, 'MALFORMED_JSON');
    expect(res.body.requestId).toBe('broken-json-1');
  });
});

describe('graceful shutdown (e2e)', () => {
  it('lets an in-flight request finish with 201, refuses new connections, then closes the pools', async () => {
    const t = await createTestApp({ listen: true, env: { THROTTLE_AUTH_PER_MINUTE: '100000' } });
    const orm = t.app.get(MikroORM);
    const redis = t.app.get<Redis>(REDIS);
    const { port } = new URL(t.baseUrl);
    const email = uniqueEmail('shutdown');
    const body = JSON.stringify({
      email,
      password: 'a password that argon2 will hash',
      fullName: 'Late Request',
    });
    const half = Math.floor(body.length / 2);
    let closed = false;
    try {
      // Start a register whose body arrives in two parts, so it is surely in flight when close() starts.
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/api/v1/auth/register',
            headers: {
              'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(body),
              Connection: 'close',
            },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, half));
        setTimeout(() => {
          closing = t.app.close().then(() => {
            closed = true;
          });
          setTimeout(() => req.end(body.slice(half)), 300);
        }, 200);
      });
      let closing: Promise<void> = Promise.resolve();

      const res = await response;
      expect(res.status).toBe(201);
      expect(JSON.parse(res.body).user.email).toBe(email);

      // while closing, the server takes no new connections
      await new Promise((r) => setTimeout(r, 50));
      await expect(fetch(`${t.baseUrl}/health/live`)).rejects.toThrow();

      await closing;
      expect(closed).toBe(true);
      expect(await orm.isConnected()).toBe(false);
      // QUIT has been answered; the socket itself ends right after
      for (let i = 0; i < 50 && redis.status !== 'end'; i += 1) await new Promise((r) => setTimeout(r, 20));
      expect(redis.status).toBe('end');

      // the row the late request wrote is really there
      const client = new Client({ connectionString: t.databaseUrl });
      await client.connect();
      try {
        const rows = await client.query('select full_name from users where email = $1', [email]);
        expect(rows.rows).toEqual([{ full_name: 'Late Request' }]);
      } finally {
        await client.end();
      }
    } finally {
      await t.close();
    }
  });
});
