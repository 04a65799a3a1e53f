import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  createTestApp,
  expectErrorShape,
  makeAdmin,
  registerUser,
  RegisteredUser,
  TestApp,
} from '../support/test-app';

const MODEL = readFileSync(path.join(__dirname, '../fixtures/models/skl-linreg/model.onnx'));
const METRICS_TOKEN = 'metrics-secret-for-tests';

const bearer = (user: { accessToken: string }) => ({ Authorization: `Bearer ${user.accessToken}` });

async function uploadModel(t: TestApp, user: RegisteredUser, name: string): Promise<string> {
  const res = await t
    .http()
    .post('/api/v1/models')
    .set(bearer(user))
    .field('name', name)
    .attach('file', MODEL, 'model.onnx');
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { id: string }).id;
}

async function createApiKey(
  t: TestApp,
  user: RegisteredUser,
  name: string,
): Promise<{ id: string; key: string }> {
  const res = await t.http().post('/api/v1/api-keys').set(bearer(user)).send({ name });
  if (res.status !== 201) throw new Error(`api key failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; key: string };
}

describe('operators: admin stats, Bull Board and /metrics (open metrics, generous limits)', () => {
  let t: TestApp;
  let admin: RegisteredUser;
  let user: RegisteredUser;
  let modelId: string;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await registerUser(t, 'admin');
    await makeAdmin(t, admin.id);
    user = await registerUser(t, 'user');
    modelId = await uploadModel(t, user, 'linreg');
    for (let i = 0; i < 5; i++) {
      const res = await t
        .http()
        .post(`/api/v1/models/${modelId}/predictions`)
        .set(bearer(user))
        .send({ input: [[0.1 * i, 0.2, 0.3, 0.4]] });
      expect(res.status).toBe(201);
    }
    const bad = await t
      .http()
      .post(`/api/v1/models/${modelId}/predictions`)
      .set(bearer(user))
      .send({ input: [['x']] });
    expect(bad.status).toBe(400);
  });

  afterAll(async () => {
    await t.close();
  });

  describe('GET /api/v1/admin/stats', () => {
    it('refuses a non-admin (403) and an anonymous caller (401)', async () => {
      const forbidden = await t.http().get('/api/v1/admin/stats').set(bearer(user));
      expect(forbidden.status).toBe(403);
      expectErrorShape(forbidden.body, 403, 'ADMIN_ONLY');
      const anonymous = await t.http().get('/api/v1/admin/stats');
      expect(anonymous.status).toBe(401);
      expectErrorShape(anonymous.body, 401);
    });

    it('reports users, models, last-24-hour predictions, p50/p95 per model, webhook success rate and queues', async () => {
      const res = await t.http().get('/api/v1/admin/stats').set(bearer(admin));
      expect(res.status).toBe(200);
      const body = res.body as {
        windowHours: number;
        users: { total: number; active: number };
        models: {
          total: number;
          byStatus: { key: string; count: number }[];
          byType: { key: string; count: number }[];
        };
        predictions: { total: number; byStatus: { key: string; count: number }[] };
        inferenceTimes: {
          modelId: string;
          modelName: string;
          predictions: number;
          p50Ms: number;
          p95Ms: number;
        }[];
        webhookDeliveries: { finished: number; successRate: number | null };
        queues: { name: string; waiting: number }[];
      };
      expect(body.windowHours).toBe(24);
      expect(body.users).toEqual({ total: 2, active: 2 });
      expect(body.models).toEqual({
        total: 1,
        byStatus: [{ key: 'active', count: 1 }],
        byType: [{ key: 'sklearn', count: 1 }],
      });
      expect(body.predictions.byStatus).toEqual(
        expect.arrayContaining([
          { key: 'success', count: 5 },
          { key: 'failed', count: 1 },
        ]),
      );
      expect(body.predictions.total).toBe(6);
      expect(body.inferenceTimes).toHaveLength(1);
      const [latency] = body.inferenceTimes;
      expect(latency).toEqual(expect.objectContaining({ modelId, modelName: 'linreg', predictions: 5 }));
      expect(latency.p50Ms).toBeGreaterThanOrEqual(0);
      expect(latency.p95Ms).toBeGreaterThanOrEqual(latency.p50Ms);
      expect(body.webhookDeliveries).toEqual(expect.objectContaining({ finished: 0, successRate: null }));
      expect(body.queues.length).toBeGreaterThan(0);
      for (const queue of body.queues) expect(queue.waiting).toBeGreaterThanOrEqual(0);
    });

    it('computes p50/p95 with percentile_cont over the recorded inference times', async () => {
      await t.orm.em
        .getConnection()
        .execute(
          'update predictions set inference_time_ms = ? where status = ? and id in (select id from predictions where model_id = ? and status = ? order by id limit 1)',
          [100, 'success', modelId, 'success'],
        );
      const times = (
        await t.orm.em
          .getConnection()
          .execute<{ inference_time_ms: number }[]>(
            'select inference_time_ms from predictions where model_id = ? and status = ? order by inference_time_ms',
            [modelId, 'success'],
          )
      ).map((r) => Number(r.inference_time_ms));
      const percentile = (p: number) => {
        const rank = p * (times.length - 1);
        const lo = Math.floor(rank);
        const hi = Math.ceil(rank);
        return times[lo] + (times[hi] - times[lo]) * (rank - lo);
      };
      const res = await t.http().get('/api/v1/admin/stats').set(bearer(admin));
      const [latency] = (res.body as { inferenceTimes: { p50Ms: number; p95Ms: number }[] }).inferenceTimes;
      expect(latency.p50Ms).toBeCloseTo(percentile(0.5), 6);
      expect(latency.p95Ms).toBeCloseTo(percentile(0.95), 6);
      expect(latency.p95Ms).toBeGreaterThan(50);
    });
  });

  describe('Bull Board at /admin/queues', () => {
    it('refuses a browser without the admin session cookie, in the shared error shape', async () => {
      const res = await t.http().get('/admin/queues');
      expect(res.status).toBe(401);
      expectErrorShape(res.body, 401, 'UNAUTHENTICATED');
      const forged = await t
        .http()
        .get('/admin/queues')
        .set('Cookie', `mp_queues=${admin.id}.${Date.now() + 60_000}.forged`);
      expect(forged.status).toBe(401);
    });

    it('only admins can open a dashboard session', async () => {
      const res = await t.http().post('/api/v1/admin/queues/session').set(bearer(user));
      expect(res.status).toBe(403);
      expectErrorShape(res.body, 403, 'ADMIN_ONLY');
    });

    it('serves the dashboard and its queue API to an admin with the session cookie, until the admin is demoted', async () => {
      const session = await t.http().post('/api/v1/admin/queues/session').set(bearer(admin));
      expect(session.status).toBe(200);
      expect(session.body).toEqual({ url: '/admin/queues', expiresAt: expect.any(String) });
      const setCookie = ([] as string[]).concat(session.headers['set-cookie'] ?? []);
      expect(setCookie[0]).toMatch(
        /^mp_queues=[^;]+; Path=\/admin\/queues; Max-Age=1800; HttpOnly; SameSite=Strict/,
      );
      const cookie = setCookie[0].split(';')[0];

      const page = await t.http().get('/admin/queues').set('Cookie', cookie);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.text).toContain('Modelport queues');

      const api = await t.http().get('/admin/queues/api/queues').set('Cookie', cookie);
      expect(api.status).toBe(200);
      const names = (api.body as { queues: { name: string }[] }).queues.map((q) => q.name);
      expect(names.length).toBeGreaterThan(0);

      await t.orm.em.getConnection().execute('update users set is_admin = false where id = ?', [admin.id]);
      try {
        expect((await t.http().get('/admin/queues/api/queues').set('Cookie', cookie)).status).toBe(401);
      } finally {
        await makeAdmin(t, admin.id);
      }
    });

    it('stays out of the OpenAPI document', async () => {
      const res = await t.http().get('/docs-json');
      const paths = Object.keys((res.body as { paths: Record<string, unknown> }).paths);
      expect(paths.filter((p) => p.startsWith('/admin'))).toEqual([]);
      expect(paths).not.toContain('/metrics');
    });
  });

  describe('GET /metrics (no METRICS_TOKEN: open)', () => {
    it('counts webhook deliveries by outcome', async () => {
      const received: string[] = [];
      const server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          received.push(String(req.headers['webhook-id']));
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
        const hook = await t
          .http()
          .post('/api/v1/webhooks')
          .set(bearer(user))
          .send({ url, events: ['webhook.test'] });
        expect(hook.status).toBe(201);
        const sent = await t
          .http()
          .post(`/api/v1/webhooks/${(hook.body as { id: string }).id}/test`)
          .set(bearer(user));
        expect(sent.status).toBeLessThan(300);
        let text = '';
        for (
          let i = 0;
          i < 100 && !/modelport_webhook_deliveries_total\{outcome="success"\} 1/.test(text);
          i++
        ) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          text = (await t.http().get('/metrics')).text;
        }
        expect(received.length).toBe(1);
        expect(text).toContain('modelport_webhook_deliveries_total{outcome="success"} 1');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('exposes HTTP durations by route template, predictions and inference time by model, queues and process metrics', async () => {
      await t.http().get(`/api/v1/models/${modelId}`).set(bearer(user)).expect(200);
      const res = await t.http().get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
      const text = res.text;
      expect(text).toMatch(
        /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/models\/:id",status="200"\} [1-9]/,
      );
      expect(text).toMatch(
        /http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/models\/:id\/predictions",status="201"\} 5/,
      );
      expect(text).not.toContain(modelId.replace(/-/g, '') + '"'); // raw URLs never become labels
      expect(text).toContain(`modelport_predictions_total{model="${modelId}",status="success"} 5`);
      expect(text).toContain(`modelport_predictions_total{model="${modelId}",status="failed"} 1`);
      expect(text).toContain(`modelport_inference_duration_seconds_count{model="${modelId}"} 5`);
      expect(text).toContain('# TYPE modelport_webhook_deliveries_total counter');
      expect(text).toMatch(/modelport_queue_jobs\{queue="[^"]+",state="waiting"\} \d+/);
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toContain('nodejs_heap_size_used_bytes');
    });
  });
});

describe('operators: METRICS_TOKEN and rate limits (low limits, an app of its own)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      env: { METRICS_TOKEN, THROTTLE_AUTH_PER_MINUTE: '5', THROTTLE_PREDICTIONS_PER_MINUTE: '3' },
    });
  });

  afterAll(async () => {
    await t.close();
  });

  it('/metrics needs `Authorization: Bearer <METRICS_TOKEN>` when the token is configured', async () => {
    const none = await t.http().get('/metrics');
    expect(none.status).toBe(401);
    expectErrorShape(none.body, 401, 'UNAUTHENTICATED');
    expect((await t.http().get('/metrics').set('Authorization', 'Bearer wrong')).status).toBe(401);
    const ok = await t.http().get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('http_request_duration_seconds');
  });

  it('throttles predictions per API key (3 a minute here); another key of the same user has its own budget', async () => {
    const owner = await registerUser(t, 'owner'); // auth budget: 1 of 5
    const modelId = await uploadModel(t, owner, 'limited');
    const first = await createApiKey(t, owner, 'first');
    const second = await createApiKey(t, owner, 'second');
    const predict = (key: string) =>
      t
        .http()
        .post(`/api/v1/models/${modelId}/predictions`)
        .set('X-API-Key', key)
        .send({ input: [[1, 2, 3, 4]] });
    for (let i = 0; i < 3; i++) expect((await predict(first.key)).status).toBe(201);
    const throttled = await predict(first.key);
    expect(throttled.status).toBe(429);
    expectErrorShape(throttled.body, 429, 'RATE_LIMITED');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await predict(second.key)).status).toBe(201);
    // Reads are not throttled by the predictions limit.
    expect((await t.http().get('/api/v1/predictions').set('X-API-Key', first.key)).status).toBe(200);
  });

  it('throttles register and login together per IP (5 a minute here) with 429, the error shape and Retry-After', async () => {
    const user = await registerUser(t, 'throttled'); // 2
    const login = () =>
      t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    expect((await login()).status).toBe(200); // 3
    expect((await login()).status).toBe(200); // 4
    const wrong = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: 'not the password' }); // 5
    expect(wrong.status).toBe(401);
    const throttled = await login(); // 6
    expect(throttled.status).toBe(429);
    expectErrorShape(throttled.body, 429, 'RATE_LIMITED');
    const retryAfter = Number(throttled.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const register = await t
      .http()
      .post('/api/v1/auth/register')
      .send({ email: 'late@example.com', password: 'long enough pass', fullName: 'Late' });
    expect(register.status).toBe(429);
    // Other routes are not throttled by the auth limit.
    expect((await t.http().get('/api/v1/users/me').set(bearer(user))).status).toBe(200);
  });
});

describe('operators: the predictions throttle under concurrent requests (3 a minute, an app of its own)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { THROTTLE_PREDICTIONS_PER_MINUTE: '3' } });
  });

  afterAll(async () => {
    await t.close();
  });

  it('counts predictions sent at the same time one by one: exactly the budget left passes, each with its own remaining count', async () => {
    const owner = await registerUser(t, 'burst');
    const modelId = await uploadModel(t, owner, 'burst');
    const { key } = await createApiKey(t, owner, 'burst');
    const predict = () =>
      t
        .http()
        .post(`/api/v1/models/${modelId}/predictions`)
        .set('X-API-Key', key)
        .send({ input: [[1, 2, 3, 4]] });
    // The first use caches the key; the six after it are counted together, in as few Redis calls as they arrive in.
    const first = await predict();
    expect(first.status).toBe(201);
    expect(first.headers['x-ratelimit-remaining-predictions']).toBe('2');
    const answers = await Promise.all(Array.from({ length: 6 }, predict));
    const passed = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 429);
    expect(passed).toHaveLength(2);
    expect(refused).toHaveLength(4);
    expect(passed.map((a) => a.headers['x-ratelimit-remaining-predictions']).sort()).toEqual(['0', '1']);
    for (const answer of refused) {
      expectErrorShape(answer.body, 429, 'RATE_LIMITED');
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // Only the three that passed were recorded.
    const rows = await t.http().get(`/api/v1/models/${modelId}/predictions`).set('X-API-Key', key);
    expect(rows.status).toBe(200);
    expect(rows.body.items).toHaveLength(3);
  });
});
