import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { createTestApp, registerUser, RegisteredUser, TestApp } from '../support/test-app';
import { eventually, Receiver } from './support/receiver';
import { freePort, OwnRedis } from './support/redis-server';

jest.setTimeout(120_000);

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'models');
const ROW = [-0.5096521973609924, -0.4380742907524109, -1.2527953386306763, 0.7774903774261475];

/**
 * The outbox: events are written with the change in Postgres, so with Redis down predictions still succeed and
 * every event goes out once Redis is back.
 */
describe('webhook outbox with Redis stopped and started again (e2e)', () => {
  let redis: OwnRedis;
  let t: TestApp;
  let receiver: Receiver;
  let u: RegisteredUser;
  let modelId: string;
  let secret: string;
  let apiKey: string;
  const bearer = () => `Bearer ${u.accessToken}`;

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    t = await createTestApp({
      env: { REDIS_URL: redis.url, WEBHOOKS_BACKOFF_BASE_MS: '50', WEBHOOKS_BACKOFF_MAX_MS: '200' },
    });
    receiver = await new Receiver().start();
    u = await registerUser(t, 'outbox');
    const upload = await t
      .http()
      .post('/api/v1/models')
      .set('Authorization', bearer())
      .field('name', 'outbox-model')
      .attach('file', readFileSync(path.join(FIXTURES, 'skl-linreg', 'model.onnx')), 'model.onnx');
    expect(upload.status).toBe(201);
    modelId = upload.body.id;
    const hook = await t
      .http()
      .post('/api/v1/webhooks')
      .set('Authorization', bearer())
      .send({
        url: receiver.url('/events'),
        events: ['prediction.success', 'prediction.failed', 'model.updated'],
        modelId,
      });
    expect(hook.status).toBe(201);
    secret = hook.body.secret;
    // An API key, not a login token: key checks fall back to Postgres when Redis is down, while login tokens
    // need Redis for their revocation check (by design, they fail closed).
    const key = await t
      .http()
      .post('/api/v1/api-keys')
      .set('Authorization', bearer())
      .send({ name: 'outbox' });
    expect(key.status).toBe(201);
    apiKey = key.body.key;
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    await redis?.stop();
  });

  const predict = (input: unknown) =>
    t.http().post(`/api/v1/models/${modelId}/predictions`).set('X-API-Key', apiKey).send({ input });

  it('delivers prediction.success while Redis is up', async () => {
    const res = await predict([ROW]);
    expect(res.status).toBe(201);
    const [req] = await receiver.waitFor('/events', 1);
    const body = new StandardWebhook(secret).verify(req.body, {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    }) as { type: string; data: Record<string, unknown> };
    expect(body.type).toBe('prediction.success');
    expect(body.data).toEqual(
      expect.objectContaining({ predictionId: res.body.id, modelId, status: 'success' }),
    );
  });

  it('records a large input (its own parameter) and small ones (arrays) sent together, and delivers each event', async () => {
    // 2 000 rows are ~160 KB of JSON: over the group commit's array limit for one input (16 KB), so a batch holding
    // it is written as VALUES rows; the small ones alone go as arrays. Either way every row and event commits.
    const large = Array.from({ length: 2000 }, () => ROW);
    const before = receiver.on('/events').length;
    const answers = await Promise.all([predict(large), predict([ROW]), predict([ROW, ROW]), predict([ROW])]);
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
    const inputs = [large, [ROW], [ROW, ROW], [ROW]];
    for (const [i, answer] of answers.entries()) {
      const [row] = await t.orm.em.getConnection().execute<Array<{ input: unknown; rows: number }>>(
        `select input_data as input, jsonb_array_length(output_data -> 'variable') as rows
             from predictions where id = ? and status = 'success'`,
        [answer.body.id],
      );
      expect(row.input).toEqual(inputs[i]);
      expect(row.rows).toBe(inputs[i].length);
    }
    const delivered = await receiver.waitFor('/events', before + 4);
    const ids = delivered
      .slice(before)
      .map((req) => (JSON.parse(req.body) as { data: { predictionId: string } }).data.predictionId);
    expect(ids.sort()).toEqual(answers.map((a) => a.body.id as string).sort());
  });

  it('keeps serving predictions with Redis down, then delivers every event once it is back', async () => {
    await eventually(async () => {
      const [row] = await t.orm.em
        .getConnection()
        .execute(`select count(*)::int as n from webhook_deliveries where status = 'pending'`);
      return row.n === 0;
    });
    const before = receiver.on('/events').length;
    await redis.stop();

    const predictionIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await predict([ROW.map((x) => x + i)]);
      expect({ status: res.status, body: res.status === 201 ? null : res.body }).toEqual({
        status: 201,
        body: null,
      });
      expect(res.body.status).toBe('success');
      predictionIds.push(res.body.id);
    }
    const bad = await predict([[1, 2]]);
    expect(bad.status).toBe(400);
    const patched = await t
      .http()
      .patch(`/api/v1/models/${modelId}`)
      .set('X-API-Key', apiKey)
      .send({ description: 'while redis was down' });
    expect(patched.status).toBe(200);

    // Everything is safe in Postgres: 7 events in 7 pending deliveries that wait for the queue (the predictions'
    // fanned out in the statement that wrote them, the model's relayed from the outbox).
    const waitingDeliveries = () =>
      t.orm.em.getConnection().execute(
        `select event_type as type, count(*)::int as n from webhook_deliveries
            where status = 'pending' and queued_at is null group by event_type order by event_type`,
      );
    await eventually(async () => (await waitingDeliveries()).length === 3);
    const waiting = await waitingDeliveries();
    expect(waiting).toEqual([
      { type: 'model.updated', n: 1 },
      { type: 'prediction.failed', n: 1 },
      { type: 'prediction.success', n: 5 },
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.on('/events')).toHaveLength(before);

    await redis.start();
    const received = await receiver.waitFor('/events', before + 7, 60_000);
    const late = received
      .slice(before)
      .map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });
    expect(
      late
        .filter((e) => e.type === 'prediction.success')
        .map((e) => e.data.predictionId)
        .sort(),
    ).toEqual([...predictionIds].sort());
    expect(late.filter((e) => e.type === 'prediction.failed')).toHaveLength(1);
    expect(late.filter((e) => e.type === 'model.updated')).toHaveLength(1);
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(received.length);
    await eventually(async () => {
      const rows = await t.orm.em
        .getConnection()
        .execute(`select status, count(*)::int as n from webhook_deliveries group by status`);
      return rows.length === 1 && rows[0].status === 'success' ? rows : null;
    });
    // Deliveries made by the predictions' group commit (the column default) have time-ordered (v7) ids.
    const ids = (
      await t.orm.em
        .getConnection()
        .execute<Array<{ id: string }>>(
          `select d.id from webhook_deliveries d where d.event_type like 'prediction.%' order by d.created_at, d.id`,
        )
    ).map((row) => row.id);
    expect(ids.length).toBeGreaterThanOrEqual(predictionIds.length);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
