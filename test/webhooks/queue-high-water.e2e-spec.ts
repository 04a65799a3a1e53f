import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { WEBHOOKS_QUEUE } from '../../src/webhooks/webhook-events.catalogue';
import { createTestApp, registerUser, RegisteredUser, TestApp } from '../support/test-app';
import { eventually, Receiver } from './support/receiver';

jest.setTimeout(120_000);

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'models');
const EVENTS = 250;
/** Jobs: each holds up to 100 first attempts, so at most 200 of the 250 deliveries can be queued. */
const HIGH_WATER = 2;

/**
 * When deliveries are slower than events, the backlog waits in Postgres: the relay queues at most
 * WEBHOOKS_QUEUE_HIGH_WATER jobs in Redis (a job: up to 100 first attempts) and queues the rest as the queue drains.
 * Nothing is lost or sent twice.
 */
describe('webhook queue high-water mark (e2e)', () => {
  let api: TestApp;
  let worker: TestApp | undefined;
  let receiver: Receiver;
  let u: RegisteredUser;
  let modelId: string;
  let apiKey: string;

  const deliveryCounts = async () => {
    const rows = await api.orm.em
      .getConnection()
      .execute<Array<{ total: number; queued: number; success: number }>>(
        `select count(*)::int as total, count(queued_at)::int as queued,
           count(*) filter (where status = 'success')::int as success from webhook_deliveries`,
      );
    return rows[0];
  };

  beforeAll(async () => {
    // The API process only produces: no delivery consumer, so queued jobs stay in Redis.
    api = await createTestApp({
      env: { WEBHOOKS_CONSUME_QUEUE: 'false', WEBHOOKS_QUEUE_HIGH_WATER: String(HIGH_WATER) },
    });
    receiver = await new Receiver().start();
    u = await registerUser(api, 'high-water');
    const auth = `Bearer ${u.accessToken}`;
    const upload = await api
      .http()
      .post('/api/v1/models')
      .set('Authorization', auth)
      .field('name', 'high-water-model')
      .attach('file', readFileSync(path.join(FIXTURES, 'skl-linreg', 'model.onnx')), 'model.onnx');
    expect(upload.status).toBe(201);
    modelId = upload.body.id as string;
    const hook = await api
      .http()
      .post('/api/v1/webhooks')
      .set('Authorization', auth)
      .send({ url: receiver.url('/events'), events: ['prediction.success'], modelId });
    expect(hook.status).toBe(201);
    const key = await api.http().post('/api/v1/api-keys').set('Authorization', auth).send({ name: 'hw' });
    apiKey = key.body.key as string;
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await receiver?.close();
  });

  it(`queues at most ${HIGH_WATER} jobs, keeps the rest in Postgres, then delivers all ${EVENTS} once a consumer runs`, async () => {
    for (let i = 0; i < EVENTS; i += 10) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          api
            .http()
            .post(`/api/v1/models/${modelId}/predictions`)
            .set('X-API-Key', apiKey)
            .send({ input: [[1, 2, 3, 4]] }),
        ),
      );
      for (const answer of answers) expect(answer.status).toBe(201);
    }
    // Every event became a delivery row; HIGH_WATER jobs of at most 100 of them each went to the queue.
    const queue = api.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE));
    const held = await eventually(async () => {
      const counts = await deliveryCounts();
      const waiting = await queue.getWaitingCount();
      return counts.total === EVENTS && waiting === HIGH_WATER ? counts : null;
    });
    expect(held.queued).toBeGreaterThan(0);
    expect(held.queued).toBeLessThanOrEqual(100 * HIGH_WATER);
    expect(held.queued).toBeLessThan(EVENTS);
    expect(held.success).toBe(0);
    // It stays there: the relay keeps polling but the queue is full.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await deliveryCounts()).toEqual(held);
    expect(await queue.getWaitingCount()).toBe(HIGH_WATER);
    expect(receiver.on('/events')).toHaveLength(0);

    // A second instance that consumes the queue: the rest is queued as room appears, and all arrive once.
    worker = await createTestApp({
      sameStateAs: api,
      env: { WEBHOOKS_QUEUE_HIGH_WATER: String(HIGH_WATER) },
    });
    await receiver.waitFor('/events', EVENTS, 60_000);
    const done = await eventually(async () => {
      const counts = await deliveryCounts();
      return counts.success === EVENTS ? counts : null;
    });
    expect(done).toEqual({ total: EVENTS, queued: EVENTS, success: EVENTS });
    const ids = receiver.on('/events').map((req) => String(req.headers['webhook-id']));
    expect(new Set(ids).size).toBe(EVENTS);
  });
});
