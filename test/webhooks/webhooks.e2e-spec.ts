import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { WebhookDeliveriesRepository } from '../../src/webhooks/webhook-deliveries.repository';
import { DELIVER_BATCH_JOB, WEBHOOKS_QUEUE } from '../../src/webhooks/webhook-events.catalogue';
import { createTestApp, expectErrorShape, registerUser, RegisteredUser, TestApp } from '../support/test-app';
import { eventually, Receiver } from './support/receiver';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'models');
const bearer = (u: RegisteredUser) => `Bearer ${u.accessToken}`;

/** A delivery or webhook row as the API or the database returns it (fields read loosely by the assertions). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertion-only access to JSON fields
type Loose = Record<string, any>;

jest.setTimeout(60_000);

describe('webhooks (e2e)', () => {
  let t: TestApp;
  let receiver: Receiver;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        WEBHOOKS_BACKOFF_BASE_MS: '50',
        WEBHOOKS_BACKOFF_MAX_MS: '200',
        WEBHOOKS_RETRY_AFTER_MAX_MS: '1500',
      },
    });
    receiver = await new Receiver().start();
    alice = await registerUser(t, 'alice');
    bob = await registerUser(t, 'bob');
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  async function createWebhook(u: RegisteredUser, body: Record<string, unknown>) {
    const res = await t.http().post('/api/v1/webhooks').set('Authorization', bearer(u)).send(body);
    if (res.status !== 201)
      throw new Error(`create webhook failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { id: string; secret: string; [k: string]: unknown };
  }

  async function uploadModel(u: RegisteredUser, name: string): Promise<string> {
    const res = await t
      .http()
      .post('/api/v1/models')
      .set('Authorization', bearer(u))
      .field('name', name)
      .attach('file', readFileSync(path.join(FIXTURES, 'skl-linreg', 'model.onnx')), 'model.onnx');
    if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  }

  async function deliveries(u: RegisteredUser, webhookId: string) {
    const res = await t
      .http()
      .get(`/api/v1/webhooks/${webhookId}/deliveries`)
      .set('Authorization', bearer(u));
    expect(res.status).toBe(200);
    return res.body.items as Loose[];
  }

  async function webhookRow(id: string) {
    const [row] = await t.orm.em.getConnection().execute('select * from webhooks where id = ?', [id]);
    return row as Loose;
  }

  /** The webhook's latest delivery once it has `status`. */
  const latestDelivery = (u: RegisteredUser, webhookId: string, status: string) =>
    eventually(async () => {
      const [latest] = await deliveries(u, webhookId);
      return latest?.status === status ? latest : null;
    });

  /**
   * A pending `model.created` delivery already marked queued (the relay leaves it alone), for a test to hand to
   * batch jobs itself; `claim` is its `queued_at` as Postgres writes it.
   */
  async function queuedDelivery(
    webhookId: string,
    attempted: { maxAttempts: number; attempts: number; nextAttemptAt: Date | null } = {
      maxAttempts: 1,
      attempts: 0,
      nextAttemptAt: null,
    },
  ): Promise<{ id: string; claim: string }> {
    const [row] = await t.orm.em.getConnection().execute<Array<{ id: string; claim: string }>>(
      `insert into webhook_deliveries (webhook_id, event_id, event_type, payload, max_attempts, attempts,
         last_attempt_at, next_attempt_at, queued_at)
       values (?, gen_random_uuid(), 'model.created', ?, ?, ?, case when ? > 0 then now() end, ?, now())
       returning id, queued_at::text as claim`,
      [
        webhookId,
        JSON.stringify({ type: 'model.created', timestamp: new Date().toISOString(), data: {} }),
        attempted.maxAttempts,
        attempted.attempts,
        attempted.attempts,
        attempted.nextAttemptAt,
      ],
    );
    return row;
  }

  const webhookQueue = () => t.app.get<Queue>(getQueueToken(WEBHOOKS_QUEUE));

  const verify = (secret: string, req: { headers: Record<string, unknown>; body: string }) =>
    new StandardWebhook(secret).verify(req.body, {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    }) as { type: string; timestamp: string; data: Record<string, unknown> };

  describe('subscriptions', () => {
    it('creates a webhook with defaults and shows a whsec_ secret only on creation', async () => {
      const res = await t
        .http()
        .post('/api/v1/webhooks')
        .set('Authorization', bearer(alice))
        .send({ url: receiver.url('/crud'), events: ['model.created'] });
      expect(res.status).toBe(201);
      expect(res.body).toEqual(
        expect.objectContaining({
          url: receiver.url('/crud'),
          events: ['model.created'],
          modelId: null,
          headers: null,
          isActive: true,
          maxRetries: 5,
          timeoutSeconds: 10,
          retryCount: 0,
          disabledReason: null,
          lastTriggeredAt: null,
        }),
      );
      expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(res.body.secret.slice(6), 'base64')).toHaveLength(32);

      const got = await t.http().get(`/api/v1/webhooks/${res.body.id}`).set('Authorization', bearer(alice));
      expect(got.status).toBe(200);
      expect(got.body.secret).toBeUndefined();
      expect(JSON.stringify(got.body)).not.toContain(res.body.secret.slice(6));

      const list = await t.http().get('/api/v1/webhooks?limit=10').set('Authorization', bearer(alice));
      expect(list.status).toBe(200);
      expect(list.body.items.map((w: { id: string }) => w.id)).toContain(res.body.id);
      expect(list.body.items[0].secret).toBeUndefined();
    });

    it('stores the secret AES-256-GCM encrypted, never in clear', async () => {
      const hook = await createWebhook(alice, { url: receiver.url('/enc'), events: ['model.created'] });
      const row = await webhookRow(hook.id);
      expect(row.secret).not.toContain(hook.secret.slice(6));
      expect(row.secret).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    });

    it('pages the list with a cursor', async () => {
      const u = await registerUser(t, 'pager');
      for (let i = 0; i < 3; i++)
        await createWebhook(u, { url: receiver.url(`/page${i}`), events: ['model.created'] });
      const first = await t.http().get('/api/v1/webhooks?limit=2').set('Authorization', bearer(u));
      expect(first.body.items).toHaveLength(2);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await t
        .http()
        .get(`/api/v1/webhooks?limit=2&cursor=${first.body.nextCursor}`)
        .set('Authorization', bearer(u));
      expect(second.body.items).toHaveLength(1);
      expect(second.body.nextCursor).toBeNull();
    });

    it('updates and deletes; another user gets 404 for all of it', async () => {
      const hook = await createWebhook(alice, { url: receiver.url('/own'), events: ['model.created'] });
      for (const [method, suffix] of [
        ['get', ''],
        ['patch', ''],
        ['delete', ''],
        ['post', '/rotate-secret'],
        ['post', '/test'],
        ['get', '/deliveries'],
      ] as const) {
        const res = await t
          .http()
          [method](`/api/v1/webhooks/${hook.id}${suffix}`)
          .set('Authorization', bearer(bob))
          .send({});
        expectErrorShape(res.body, 404, 'NOT_FOUND');
      }
      const list = await t.http().get('/api/v1/webhooks').set('Authorization', bearer(bob));
      expect(list.body.items.map((w: { id: string }) => w.id)).not.toContain(hook.id);

      const patched = await t
        .http()
        .patch(`/api/v1/webhooks/${hook.id}`)
        .set('Authorization', bearer(alice))
        .send({
          events: ['model.deleted', 'model.updated'],
          maxRetries: 0,
          timeoutSeconds: 3,
          headers: { 'X-Team': 'ml' },
        });
      expect(patched.status).toBe(200);
      expect(patched.body).toEqual(
        expect.objectContaining({
          events: ['model.deleted', 'model.updated'],
          maxRetries: 0,
          timeoutSeconds: 3,
          isActive: true,
          headers: { 'X-Team': 'ml' },
        }),
      );
      const del = await t.http().delete(`/api/v1/webhooks/${hook.id}`).set('Authorization', bearer(alice));
      expect(del.status).toBe(204);
      const gone = await t.http().get(`/api/v1/webhooks/${hook.id}`).set('Authorization', bearer(alice));
      expectErrorShape(gone.body, 404);
    });

    it.each([
      ['a non-http URL', { url: 'ftp://example.com/x', events: ['model.created'] }],
      ['a URL without a scheme', { url: 'example.com/hook', events: ['model.created'] }],
      [
        'a URL over 2048 characters',
        { url: `https://example.com/${'a'.repeat(2040)}`, events: ['model.created'] },
      ],
      ['an unknown event', { url: 'https://example.com/x', events: ['model.exploded'] }],
      ['an empty event list', { url: 'https://example.com/x', events: [] }],
      ['no events', { url: 'https://example.com/x' }],
      ['maxRetries over 20', { url: 'https://example.com/x', events: ['model.created'], maxRetries: 21 }],
      ['timeoutSeconds 0', { url: 'https://example.com/x', events: ['model.created'], timeoutSeconds: 0 }],
      [
        'timeoutSeconds over 30',
        { url: 'https://example.com/x', events: ['model.created'], timeoutSeconds: 31 },
      ],
      [
        'a modelId that is not a uuid',
        { url: 'https://example.com/x', events: ['model.created'], modelId: 'abc' },
      ],
      [
        '21 headers',
        {
          url: 'https://example.com/x',
          events: ['model.created'],
          headers: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v'])),
        },
      ],
      [
        'an oversized header value',
        { url: 'https://example.com/x', events: ['model.created'], headers: { 'X-Big': 'v'.repeat(5000) } },
      ],
      [
        'a hop-by-hop header',
        { url: 'https://example.com/x', events: ['model.created'], headers: { Connection: 'close' } },
      ],
      [
        'a Host header',
        { url: 'https://example.com/x', events: ['model.created'], headers: { host: 'evil.example' } },
      ],
      [
        'a webhook-* header',
        {
          url: 'https://example.com/x',
          events: ['model.created'],
          headers: { 'Webhook-Signature': 'v1,forged' },
        },
      ],
      [
        'a non-string header value',
        { url: 'https://example.com/x', events: ['model.created'], headers: { 'X-Num': 5 } },
      ],
      [
        'a header name with a space',
        { url: 'https://example.com/x', events: ['model.created'], headers: { 'X Bad': 'v' } },
      ],
      [
        'a header value with a newline',
        {
          url: 'https://example.com/x',
          events: ['model.created'],
          headers: { 'X-Inject': 'a\r\nHost: evil' },
        },
      ],
      ['an unknown field', { url: 'https://example.com/x', events: ['model.created'], secret: 'whsec_mine' }],
    ])('refuses %s with 400', async (_label, body) => {
      const res = await t.http().post('/api/v1/webhooks').set('Authorization', bearer(alice)).send(body);
      expectErrorShape(res.body, 400);
    });

    it('refuses null for a field that cannot be null, on create and update, and changes nothing', async () => {
      const created = await t
        .http()
        .post('/api/v1/webhooks')
        .set('Authorization', bearer(alice))
        .send({ url: 'https://example.com/nulls', events: ['model.created'] });
      expect(created.status).toBe(201);
      for (const field of ['url', 'events', 'maxRetries', 'timeoutSeconds', 'isActive']) {
        const patched = await t
          .http()
          .patch(`/api/v1/webhooks/${created.body.id as string}`)
          .set('Authorization', bearer(alice))
          .send({ [field]: null });
        expectErrorShape(patched.body, 400, 'VALIDATION_FAILED');
        expect(patched.body.message).toContain(field);
      }
      for (const field of ['maxRetries', 'timeoutSeconds', 'isActive']) {
        const res = await t
          .http()
          .post('/api/v1/webhooks')
          .set('Authorization', bearer(alice))
          .send({ url: 'https://example.com/nulls', events: ['model.created'], [field]: null });
        expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      }
      const after = await t
        .http()
        .get(`/api/v1/webhooks/${created.body.id as string}`)
        .set('Authorization', bearer(alice));
      const { secret: _secret, ...asCreated } = created.body as Record<string, unknown>;
      expect(after.body).toEqual(asCreated);
    });

    it("refuses a stranger's model (404) and one only shared with the caller (403), on create and update", async () => {
      const bobsModel = await uploadModel(bob, 'bobs-private');
      const res = await t
        .http()
        .post('/api/v1/webhooks')
        .set('Authorization', bearer(alice))
        .send({ url: receiver.url('/x'), events: ['model.updated'], modelId: bobsModel });
      expectErrorShape(res.body, 404, 'NOT_FOUND');
      const missing = await t
        .http()
        .post('/api/v1/webhooks')
        .set('Authorization', bearer(alice))
        .send({
          url: receiver.url('/x'),
          events: ['model.updated'],
          modelId: '00000000-0000-4000-8000-000000000000',
        });
      expectErrorShape(missing.body, 404, 'NOT_FOUND');

      // The fan-out hears only the webhook owner's own models: a filter on a shared model would never fire.
      const share = await t
        .http()
        .post(`/api/v1/models/${bobsModel}/shares`)
        .set('Authorization', bearer(bob))
        .send({ userId: alice.id, permission: 'edit' });
      expect(share.status).toBe(201);
      const shared = await t
        .http()
        .post('/api/v1/webhooks')
        .set('Authorization', bearer(alice))
        .send({ url: receiver.url('/x'), events: ['model.updated'], modelId: bobsModel });
      expectErrorShape(shared.body, 403, 'INSUFFICIENT_PERMISSION');
      expect(shared.body.message).toMatch(/only events of your own models/);

      const own = await uploadModel(alice, 'alices-own');
      const hook = await createWebhook(alice, {
        url: receiver.url('/x'),
        events: ['model.updated'],
        modelId: own,
      });
      expect(hook.modelId).toBe(own);
      const moved = await t
        .http()
        .patch(`/api/v1/webhooks/${hook.id}`)
        .set('Authorization', bearer(alice))
        .send({ modelId: bobsModel });
      expectErrorShape(moved.body, 403, 'INSUFFICIENT_PERMISSION');
      const unknown = await t
        .http()
        .patch(`/api/v1/webhooks/${hook.id}`)
        .set('Authorization', bearer(alice))
        .send({ modelId: '00000000-0000-4000-8000-000000000000' });
      expectErrorShape(unknown.body, 404, 'NOT_FOUND');
      const unchanged = await t.http().get(`/api/v1/webhooks/${hook.id}`).set('Authorization', bearer(alice));
      expect(unchanged.body.modelId).toBe(own);
    });

    it('refuses model.deleted with a modelId (the filtered webhook is deleted with its model), on create and update', async () => {
      const u = await registerUser(t, 'deleted-filter');
      const modelId = await uploadModel(u, 'filtered');
      const expectRefused = (body: unknown) => {
        expectErrorShape(body, 400, 'VALIDATION_FAILED');
        expect((body as Loose).message).toMatch(/model\.deleted is heard only by webhooks without a modelId/);
      };
      const created = await t
        .http()
        .post('/api/v1/webhooks')
        .set('Authorization', bearer(u))
        .send({ url: receiver.url('/x'), events: ['model.updated', 'model.deleted'], modelId });
      expectRefused(created.body);

      const filtered = await createWebhook(u, {
        url: receiver.url('/x'),
        events: ['model.updated'],
        modelId,
      });
      const addEvent = await t
        .http()
        .patch(`/api/v1/webhooks/${filtered.id}`)
        .set('Authorization', bearer(u))
        .send({ events: ['model.updated', 'model.deleted'] });
      expectRefused(addEvent.body);

      const unfiltered = await createWebhook(u, { url: receiver.url('/x'), events: ['model.deleted'] });
      const addFilter = await t
        .http()
        .patch(`/api/v1/webhooks/${unfiltered.id}`)
        .set('Authorization', bearer(u))
        .send({ modelId });
      expectRefused(addFilter.body);

      for (const [id, events, modelIdAfter] of [
        [filtered.id, ['model.updated'], modelId],
        [unfiltered.id, ['model.deleted'], null],
      ] as const) {
        const row = await t.http().get(`/api/v1/webhooks/${id}`).set('Authorization', bearer(u));
        expect(row.body).toEqual(expect.objectContaining({ events, modelId: modelIdAfter }));
      }

      // Dropping the filter in the same PATCH makes the combination valid.
      const both = await t
        .http()
        .patch(`/api/v1/webhooks/${filtered.id}`)
        .set('Authorization', bearer(u))
        .send({ events: ['model.updated', 'model.deleted'], modelId: null });
      expect(both.status).toBe(200);
      expect(both.body).toEqual(
        expect.objectContaining({ events: ['model.updated', 'model.deleted'], modelId: null }),
      );
    });
  });

  describe('delivery', () => {
    it('sends the credentials of a URL like http://user:pass@host as Basic authorization', async () => {
      const hook = await createWebhook(alice, {
        url: `http://hook-user:p%40ss@127.0.0.1:${receiver.port}/basic`,
        events: ['model.created'],
      });
      const res = await t.http().post(`/api/v1/webhooks/${hook.id}/test`).set('Authorization', bearer(alice));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(expect.objectContaining({ status: 'success', responseStatus: 200 }));
      const [req] = receiver.on('/basic');
      expect(req.headers.authorization).toBe(`Basic ${Buffer.from('hook-user:p@ss').toString('base64')}`);
    });

    it('sends webhook.test now, signed so that the standardwebhooks library verifies it', async () => {
      const hook = await createWebhook(alice, {
        url: receiver.url('/ping'),
        events: ['model.created'],
        headers: { Authorization: 'Bearer receiver-token', 'X-Team': 'ml' },
      });
      const res = await t.http().post(`/api/v1/webhooks/${hook.id}/test`).set('Authorization', bearer(alice));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(
        expect.objectContaining({
          webhookId: hook.id,
          eventType: 'webhook.test',
          status: 'success',
          attempts: 1,
          responseStatus: 200,
          responseBody: 'ok',
          error: null,
        }),
      );
      expect(res.body.durationMs).toEqual(expect.any(Number));
      const [req] = receiver.on('/ping');
      expect(req.method).toBe('POST');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['user-agent']).toBe(
        `Modelport-Webhooks/${JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version}`,
      );
      expect(req.headers['webhook-id']).toBe(res.body.eventId);
      expect(req.headers.authorization).toBe('Bearer receiver-token');
      expect(req.headers['x-team']).toBe('ml');
      expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
      expect(verify(hook.secret, req)).toEqual({
        type: 'webhook.test',
        timestamp: expect.any(String),
        data: { webhookId: hook.id, message: expect.any(String) },
      });
      expect(() => verify(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, req)).toThrow();
      // PRINT_WEBHOOK_SAMPLE=1 prints one signed delivery exactly as received (for documentation).
      if (process.env.PRINT_WEBHOOK_SAMPLE) {
        console.log(
          `signed delivery as received:\n${JSON.stringify({ headers: req.headers, body: req.body }, null, 2)}`,
        );
      }

      const log = await deliveries(alice, hook.id);
      expect(log).toHaveLength(1);
      expect(log[0]).toEqual(
        expect.objectContaining({ id: res.body.id, status: 'success', payload: JSON.parse(req.body) }),
      );
      const row = await webhookRow(hook.id);
      expect(row.last_triggered_at).not.toBeNull();
    });

    it('signs with both secrets for 24 h after a rotation, each verifying on its own', async () => {
      const hook = await createWebhook(alice, { url: receiver.url('/rotate'), events: ['model.created'] });
      const rotated = await t
        .http()
        .post(`/api/v1/webhooks/${hook.id}/rotate-secret`)
        .set('Authorization', bearer(alice));
      expect(rotated.status).toBe(200);
      expect(rotated.body.secret).toMatch(/^whsec_/);
      expect(rotated.body.secret).not.toBe(hook.secret);
      const expires = new Date(rotated.body.previousSecretExpiresAt).getTime();
      expect(Math.abs(expires - (Date.now() + 24 * 3600_000))).toBeLessThan(60_000);

      const res = await t.http().post(`/api/v1/webhooks/${hook.id}/test`).set('Authorization', bearer(alice));
      expect(res.body.status).toBe('success');
      const [req] = receiver.on('/rotate');
      const signatures = String(req.headers['webhook-signature']).split(' ');
      expect(signatures).toHaveLength(2);
      expect(signatures.every((s) => s.startsWith('v1,'))).toBe(true);
      expect(verify(hook.secret, req).type).toBe('webhook.test');
      expect(verify(rotated.body.secret, req).type).toBe('webhook.test');
      // Only one signature each: the old secret alone, and the new one alone, both check out.
      expect(
        verify(hook.secret, { ...req, headers: { ...req.headers, 'webhook-signature': signatures[1] } }).type,
      ).toBe('webhook.test');
      expect(
        verify(rotated.body.secret, {
          ...req,
          headers: { ...req.headers, 'webhook-signature': signatures[0] },
        }).type,
      ).toBe('webhook.test');

      // A queued delivery (an event through the outbox and a batch job) is signed with both as well.
      await uploadModel(alice, 'rotated');
      const queued = (await receiver.waitFor('/rotate', 2))[1];
      expect(String(queued.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verify(hook.secret, queued).type).toBe('model.created');
      expect(verify(rotated.body.secret, queued).type).toBe('model.created');

      // After the overlap the old secret stops signing.
      await t.orm.em
        .getConnection()
        .execute(
          `update webhooks set previous_secret_expires_at = now() - interval '1 second' where id = ?`,
          [hook.id],
        );
      await t.http().post(`/api/v1/webhooks/${hook.id}/test`).set('Authorization', bearer(alice));
      const second = receiver.on('/rotate')[2];
      expect(String(second.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verify(rotated.body.secret, second).type).toBe('webhook.test');
      expect(() => verify(hook.secret, second)).toThrow();
    });

    it('delivers model.created from an upload, only to the owner and only for subscribed events', async () => {
      const u = await registerUser(t, 'uploader');
      const hook = await createWebhook(u, { url: receiver.url('/created'), events: ['model.created'] });
      await createWebhook(u, { url: receiver.url('/not-created'), events: ['model.deleted'] });
      await createWebhook(bob, { url: receiver.url('/bob-created'), events: ['model.created'] });
      const modelId = await uploadModel(u, 'announced');
      const [req] = await receiver.waitFor('/created', 1);
      const body = verify(hook.secret, req);
      expect(body.type).toBe('model.created');
      expect(body.data).toEqual(expect.objectContaining({ modelId, name: 'announced' }));
      const latest = await latestDelivery(u, hook.id, 'success');
      expect(latest).toEqual(
        expect.objectContaining({
          eventType: 'model.created',
          eventId: req.headers['webhook-id'],
          attempts: 1,
          responseStatus: 200,
        }),
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.on('/not-created')).toHaveLength(0);
      expect(receiver.on('/bob-created')).toHaveLength(0);
    });

    it('retries a receiver that fails twice: three attempts, one webhook-id, retry_count 2', async () => {
      const u = await registerUser(t, 'retry');
      receiver.respond('/flaky', (_req, nth) =>
        nth <= 2 ? { status: 503, body: 'try later' } : { status: 204 },
      );
      const hook = await createWebhook(u, {
        url: receiver.url('/flaky'),
        events: ['model.created'],
        maxRetries: 5,
      });
      await uploadModel(u, 'flaky');
      const reqs = await receiver.waitFor('/flaky', 3);
      expect(new Set(reqs.map((r) => r.headers['webhook-id'])).size).toBe(1);
      for (const r of reqs) expect(verify(hook.secret, r).type).toBe('model.created');
      const delivery = await latestDelivery(u, hook.id, 'success');
      expect(delivery).toEqual(
        expect.objectContaining({ attempts: 3, responseStatus: 204, status: 'success' }),
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.on('/flaky')).toHaveLength(3);
      const row = await webhookRow(hook.id);
      expect(row.retry_count).toBe(2);
      expect(row.consecutive_failures).toBe(0);
    });

    it('honours Retry-After (capped) before retrying', async () => {
      const u = await registerUser(t, 'retry-after');
      receiver.respond('/slow-down', (_req, nth) =>
        nth === 1 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 200 },
      );
      await createWebhook(u, { url: receiver.url('/slow-down'), events: ['model.created'], maxRetries: 1 });
      await uploadModel(u, 'slow');
      const [first, second] = await receiver.waitFor('/slow-down', 2);
      expect(second.at - first.at).toBeGreaterThanOrEqual(950);
    });

    it('gives up after maxRetries, recording the last status, and counts one failed event', async () => {
      const u = await registerUser(t, 'giveup');
      receiver.respond('/down', () => ({ status: 500, body: 'x'.repeat(5000) }));
      const hook = await createWebhook(u, {
        url: receiver.url('/down'),
        events: ['model.created'],
        maxRetries: 2,
      });
      await uploadModel(u, 'doomed');
      const delivery = await latestDelivery(u, hook.id, 'failed');
      expect(delivery).toEqual(
        expect.objectContaining({ attempts: 3, maxAttempts: 3, responseStatus: 500, error: 'HTTP 500' }),
      );
      expect(delivery.responseBody).toHaveLength(2048);
      expect(receiver.on('/down')).toHaveLength(3);
      const row = await webhookRow(hook.id);
      expect(row).toEqual(
        expect.objectContaining({ consecutive_failures: 1, is_active: true, retry_count: 2 }),
      );
    });

    it('treats a slow receiver as a timeout and retries it', async () => {
      const u = await registerUser(t, 'timeout');
      // The test ping (1st request) and the event's first attempt (2nd) time out; the retry (3rd) is answered.
      receiver.respond('/slow', (_req, nth) => (nth <= 2 ? { status: 200, delayMs: 2500 } : { status: 200 }));
      const hook = await createWebhook(u, {
        url: receiver.url('/slow'),
        events: ['model.created'],
        timeoutSeconds: 1,
        maxRetries: 1,
      });
      const res = await t.http().post(`/api/v1/webhooks/${hook.id}/test`).set('Authorization', bearer(u));
      expect(res.body).toEqual(
        expect.objectContaining({ status: 'failed', responseStatus: null, error: 'Timed out after 1000 ms' }),
      );
      expect(res.body.durationMs).toBeGreaterThanOrEqual(950);
      expect(res.body.durationMs).toBeLessThan(2400);
      await uploadModel(u, 'slowpoke');
      const [delivery] = await eventually(async () => {
        const items = await deliveries(u, hook.id);
        return items.find((d) => d.eventType === 'model.created' && d.status === 'success') ? items : null;
      }, 20000);
      expect(delivery.attempts).toBe(2);
    });

    it('does not follow redirects', async () => {
      const u = await registerUser(t, 'redirect');
      receiver.respond('/moved', () => ({ status: 302, headers: { Location: receiver.url('/target') } }));
      const hook = await createWebhook(u, {
        url: receiver.url('/moved'),
        events: ['model.created'],
        maxRetries: 0,
      });
      const res = await t.http().post(`/api/v1/webhooks/${hook.id}/test`).set('Authorization', bearer(u));
      expect(res.body).toEqual(
        expect.objectContaining({ status: 'failed', responseStatus: 302, error: 'HTTP 302' }),
      );
      expect(receiver.on('/target')).toHaveLength(0);
    });

    it('disables the webhook on 410 Gone, shows why, and sends it nothing more', async () => {
      const u = await registerUser(t, 'gone');
      receiver.respond('/gone', () => ({ status: 410 }));
      const hook = await createWebhook(u, {
        url: receiver.url('/gone'),
        events: ['model.created'],
        maxRetries: 5,
      });
      await uploadModel(u, 'gone-1');
      await receiver.waitFor('/gone', 1);
      const disabled = await eventually(async () => {
        const res = await t.http().get(`/api/v1/webhooks/${hook.id}`).set('Authorization', bearer(u));
        return res.body.isActive === false ? res.body : null;
      });
      expect(disabled.disabledReason).toMatch(/410/);
      await uploadModel(u, 'gone-2');
      await new Promise((r) => setTimeout(r, 800));
      expect(receiver.on('/gone')).toHaveLength(1);
      const [delivery] = await deliveries(u, hook.id);
      expect(delivery).toEqual(
        expect.objectContaining({ status: 'failed', attempts: 1, responseStatus: 410 }),
      );

      // Re-enabling clears the reason.
      const enabled = await t
        .http()
        .patch(`/api/v1/webhooks/${hook.id}`)
        .set('Authorization', bearer(u))
        .send({ isActive: true });
      expect(enabled.body).toEqual(
        expect.objectContaining({ isActive: true, disabledReason: null, consecutiveFailures: 0 }),
      );
    });

    it('disables the webhook after 20 consecutive failed events', async () => {
      const u = await registerUser(t, 'autodisable');
      receiver.respond('/always-500', () => ({ status: 500 }));
      const hook = await createWebhook(u, {
        url: receiver.url('/always-500'),
        events: ['model.created'],
        maxRetries: 0,
      });
      // 19 failed events already behind it.
      await t.orm.em
        .getConnection()
        .execute('update webhooks set consecutive_failures = 19 where id = ?', [hook.id]);
      await uploadModel(u, 'straw');
      const disabled = await eventually(async () => {
        const res = await t.http().get(`/api/v1/webhooks/${hook.id}`).set('Authorization', bearer(u));
        return res.body.isActive === false ? res.body : null;
      });
      expect(disabled.consecutiveFailures).toBe(20);
      expect(disabled.disabledReason).toMatch(/20 consecutive failed events/);
      expect(disabled.disabledAt).toEqual(expect.any(String));
    });

    it('resets the failure count on a success', async () => {
      const u = await registerUser(t, 'reset');
      const hook = await createWebhook(u, { url: receiver.url('/recovers'), events: ['model.created'] });
      await t.orm.em
        .getConnection()
        .execute('update webhooks set consecutive_failures = 7 where id = ?', [hook.id]);
      await uploadModel(u, 'recovery');
      await receiver.waitFor('/recovers', 1);
      await eventually(async () => (await webhookRow(hook.id)).consecutive_failures === 0);
    });

    it('a webhook on model A does not hear model B; an unfiltered one hears both', async () => {
      const u = await registerUser(t, 'filter');
      const modelA = await uploadModel(u, 'model-a');
      const modelB = await uploadModel(u, 'model-b');
      await createWebhook(u, { url: receiver.url('/only-a'), events: ['model.updated'], modelId: modelA });
      await createWebhook(u, { url: receiver.url('/all-models'), events: ['model.updated'] });
      for (const id of [modelB, modelA]) {
        const res = await t
          .http()
          .patch(`/api/v1/models/${id}`)
          .set('Authorization', bearer(u))
          .send({ description: 'changed' });
        expect(res.status).toBe(200);
      }
      const all = await receiver.waitFor('/all-models', 2);
      const onlyA = await receiver.waitFor('/only-a', 1);
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.on('/only-a')).toHaveLength(1);
      expect(JSON.parse(onlyA[0].body).data.modelId).toBe(modelA);
      expect(all.map((r) => JSON.parse(r.body).data.modelId).sort()).toEqual([modelA, modelB].sort());
    });

    it('tells unfiltered webhooks about a deleted model (its filtered webhooks go with it)', async () => {
      const u = await registerUser(t, 'deleter');
      const modelId = await uploadModel(u, 'short-lived');
      const filtered = await createWebhook(u, {
        url: receiver.url('/deleted-filtered'),
        events: ['model.updated'],
        modelId,
      });
      await createWebhook(u, { url: receiver.url('/deleted-all'), events: ['model.deleted'] });
      const res = await t.http().delete(`/api/v1/models/${modelId}`).set('Authorization', bearer(u));
      expect(res.status).toBe(204);
      const [req] = await receiver.waitFor('/deleted-all', 1);
      expect(JSON.parse(req.body)).toEqual(
        expect.objectContaining({ type: 'model.deleted', data: expect.objectContaining({ modelId }) }),
      );
      const gone = await t.http().get(`/api/v1/webhooks/${filtered.id}`).set('Authorization', bearer(u));
      expectErrorShape(gone.body, 404);
    });

    it('announces model.shared and model.unshared to the owner', async () => {
      const u = await registerUser(t, 'sharer');
      const modelId = await uploadModel(u, 'shared-model');
      const hook = await createWebhook(u, {
        url: receiver.url('/shares'),
        events: ['model.shared', 'model.unshared'],
      });
      const share = await t
        .http()
        .post(`/api/v1/models/${modelId}/shares`)
        .set('Authorization', bearer(u))
        .send({ userId: bob.id, permission: 'use' });
      expect(share.status).toBe(201);
      const revoke = await t
        .http()
        .delete(`/api/v1/models/${modelId}/shares/${share.body.id}`)
        .set('Authorization', bearer(u));
      expect(revoke.status).toBe(204);
      const reqs = await receiver.waitFor('/shares', 2);
      const bodies = reqs
        .map((r) => verify(hook.secret, r))
        .sort((a, b) => a.timestamp.localeCompare(b.timestamp));
      expect(bodies[0]).toEqual({
        type: 'model.shared',
        timestamp: expect.any(String),
        data: expect.objectContaining({
          shareId: share.body.id,
          modelId,
          sharedWithUserId: bob.id,
          permission: 'use',
        }),
      });
      expect(bodies[1]).toEqual({
        type: 'model.unshared',
        timestamp: expect.any(String),
        data: expect.objectContaining({ shareId: share.body.id, modelId, sharedWithUserId: bob.id }),
      });
    });

    it('announces prediction.success and prediction.failed to the model owner, including predictions by others', async () => {
      const u = await registerUser(t, 'predictor');
      const modelId = await uploadModel(u, 'predicted');
      const hook = await createWebhook(u, {
        url: receiver.url('/predictions'),
        events: ['prediction.success', 'prediction.failed'],
        modelId,
      });
      await t
        .http()
        .post(`/api/v1/models/${modelId}/shares`)
        .set('Authorization', bearer(u))
        .send({ userId: bob.id, permission: 'use' });
      const ok = await t
        .http()
        .post(`/api/v1/models/${modelId}/predictions`)
        .set('Authorization', bearer(bob))
        .send({ input: [[0.1, 0.2, 0.3, 0.4]] });
      expect(ok.status).toBe(201);
      const bad = await t
        .http()
        .post(`/api/v1/models/${modelId}/predictions`)
        .set('Authorization', bearer(u))
        .send({ input: [[1, 2]] });
      expect(bad.status).toBe(400);
      const reqs = await receiver.waitFor('/predictions', 2);
      const byType = Object.fromEntries(reqs.map((r) => verify(hook.secret, r)).map((b) => [b.type, b.data]));
      expect(byType['prediction.success']).toEqual(
        expect.objectContaining({
          predictionId: ok.body.id,
          modelId,
          userId: bob.id,
          status: 'success',
          output: ok.body.output,
        }),
      );
      expect(byType['prediction.failed']).toEqual(
        expect.objectContaining({
          modelId,
          userId: u.id,
          status: 'failed',
          errorMessage: expect.stringContaining('input'),
        }),
      );
    });

    it('delivers a burst of events in batches: a failing receiver is retried on its own, the others get each event once', async () => {
      const u = await registerUser(t, 'burst');
      const modelId = await uploadModel(u, 'burst');
      // The first request of every event fails at /burst-flaky; /burst-steady always answers 200.
      const failedOnce = new Set<string>();
      receiver.respond('/burst-flaky', (req) => {
        const id = String(req.headers['webhook-id']);
        if (failedOnce.has(id)) return { status: 200 };
        failedOnce.add(id);
        return { status: 500, body: 'not yet' };
      });
      const flaky = await createWebhook(u, {
        url: receiver.url('/burst-flaky'),
        events: ['prediction.success'],
        maxRetries: 3,
      });
      const steady = await createWebhook(u, {
        url: receiver.url('/burst-steady'),
        events: ['prediction.success'],
      });
      const key = await t
        .http()
        .post('/api/v1/api-keys')
        .set('Authorization', bearer(u))
        .send({ name: 'burst' });
      const EVENTS = 60;
      const answers = await Promise.all(
        Array.from({ length: EVENTS }, (_, i) =>
          t
            .http()
            .post(`/api/v1/models/${modelId}/predictions`)
            .set('X-API-Key', key.body.key as string)
            .send({ input: [[i, 1, 2, 3]] }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(EVENTS).fill(201));
      const predictionIds = new Set(answers.map((a) => a.body.id as string));

      const steadyReqs = await receiver.waitFor('/burst-steady', EVENTS);
      const flakyReqs = await receiver.waitFor('/burst-flaky', 2 * EVENTS);
      await new Promise((r) => setTimeout(r, 300));
      // Each event once at the steady receiver, twice (a failure, then its retry) at the flaky one; all signed.
      expect(receiver.on('/burst-steady')).toHaveLength(EVENTS);
      expect(receiver.on('/burst-flaky')).toHaveLength(2 * EVENTS);
      const heard = steadyReqs.map((r) => verify(steady.secret, r).data.predictionId as string);
      expect(new Set(heard)).toEqual(predictionIds);
      const flakyIds = flakyReqs.map((r) => String(r.headers['webhook-id']));
      expect(new Set(flakyIds).size).toBe(EVENTS);
      for (const r of flakyReqs) expect(verify(flaky.secret, r).type).toBe('prediction.success');

      const rows = await eventually(async () => {
        const found = await t.orm.em
          .getConnection()
          .execute<Loose[]>(
            `select webhook_id, status, attempts, response_status from webhook_deliveries where webhook_id in (?, ?)`,
            [flaky.id, steady.id],
          );
        return found.length === 2 * EVENTS && found.every((row) => row.status === 'success') ? found : null;
      });
      expect(rows.filter((row) => row.webhook_id === steady.id).map((row) => row.attempts)).toEqual(
        Array(EVENTS).fill(1),
      );
      expect(rows.filter((row) => row.webhook_id === flaky.id).map((row) => row.attempts)).toEqual(
        Array(EVENTS).fill(2),
      );
      expect((await webhookRow(flaky.id)).retry_count).toBe(EVENTS);
      expect((await webhookRow(steady.id)).retry_count).toBe(0);
    });

    it('records a delivery it cannot sign as failed, and still delivers the rest of its batch once', async () => {
      const u = await registerUser(t, 'unsignable');
      const broken = await createWebhook(u, { url: receiver.url('/unsignable'), events: ['model.created'] });
      const healthy = await createWebhook(u, { url: receiver.url('/signable'), events: ['model.created'] });
      // As if WEBHOOK_SECRET_KEY had changed since this secret was stored.
      await t.orm.em
        .getConnection()
        .execute(
          `update webhooks set secret = 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA' where id = ?`,
          [broken.id],
        );
      await uploadModel(u, 'unsignable');
      const [received] = await receiver.waitFor('/signable', 1);
      expect(verify(healthy.secret, received).type).toBe('model.created');
      const failed = await latestDelivery(u, broken.id, 'failed');
      expect(failed).toEqual(
        expect.objectContaining({
          attempts: 0,
          responseStatus: null,
          error: expect.stringContaining('signing secret could not be decrypted'),
        }),
      );
      // Not held against the receiver, and nothing sent twice or at all to the broken one.
      expect((await webhookRow(broken.id)).consecutive_failures).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.on('/signable')).toHaveLength(1);
      expect(receiver.on('/unsignable')).toHaveLength(0);

      // Rotating recovers it: the new secret signs alone (the unreadable one is left out during the overlap).
      const rotated = await t
        .http()
        .post(`/api/v1/webhooks/${broken.id}/rotate-secret`)
        .set('Authorization', bearer(u));
      expect(rotated.status).toBe(200);
      await uploadModel(u, 'unsignable-after-rotation');
      const [recovered] = await receiver.waitFor('/unsignable', 1);
      expect(String(recovered.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verify(rotated.body.secret as string, recovered).type).toBe('model.created');
    });

    it('sends a delivery that sits in two batch jobs at once only once', async () => {
      const u = await registerUser(t, 'twice');
      const hook = await createWebhook(u, { url: receiver.url('/twice'), events: ['model.created'] });
      receiver.respond('/twice', () => ({ status: 200, delayMs: 200 }));
      // A pending delivery already marked queued, then two jobs carrying it.
      const row = await queuedDelivery(hook.id);
      const queue = webhookQueue();
      await queue.add(DELIVER_BATCH_JOB, { deliveryIds: [row.id] });
      await queue.add(DELIVER_BATCH_JOB, { deliveryIds: [row.id] });
      await receiver.waitFor('/twice', 1);
      const delivery = await latestDelivery(u, hook.id, 'success');
      expect(delivery).toEqual(expect.objectContaining({ attempts: 1, status: 'success' }));
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.on('/twice')).toHaveLength(1);
    });

    it('leaves a delivery claimed again since its job was queued to the newer job', async () => {
      const u = await registerUser(t, 'reclaimed');
      const hook = await createWebhook(u, { url: receiver.url('/reclaimed'), events: ['model.created'] });
      const row = await queuedDelivery(hook.id);
      const queue = webhookQueue();
      // A job from an earlier claim of the row: it must not send.
      const stale = await queue.add(DELIVER_BATCH_JOB, {
        deliveryIds: [row.id],
        claims: ['2026-01-01 00:00:00+00'],
      });
      await stale.finished();
      await new Promise((r) => setTimeout(r, 200));
      expect(receiver.on('/reclaimed')).toHaveLength(0);
      expect((await deliveries(u, hook.id))[0]).toEqual(
        expect.objectContaining({ status: 'pending', attempts: 0 }),
      );
      // The job of the row's current claim sends it.
      await queue.add(DELIVER_BATCH_JOB, { deliveryIds: [row.id], claims: [row.claim] });
      await receiver.waitFor('/reclaimed', 1);
      const delivery = await latestDelivery(u, hook.id, 'success');
      expect(delivery).toEqual(expect.objectContaining({ attempts: 1 }));
      expect(receiver.on('/reclaimed')).toHaveLength(1);
    });

    it('a delivery taken over from its batch (moveClaim) is left alone by a copy of that batch run again', async () => {
      const u = await registerUser(t, 'taken-over');
      const hook = await createWebhook(u, { url: receiver.url('/taken-over'), events: ['model.created'] });
      const row = await queuedDelivery(hook.id);
      const repository = t.app.get(WebhookDeliveriesRepository);
      const moved = await repository.moveClaim(row.id, row.claim);
      expect(moved).toEqual(expect.any(String));
      expect(moved).not.toBe(row.claim);
      // Only the holder of the current claim may move it.
      expect(await repository.moveClaim(row.id, row.claim)).toBeNull();
      const queue = webhookQueue();
      const stale = await queue.add(DELIVER_BATCH_JOB, { deliveryIds: [row.id], claims: [row.claim] });
      await stale.finished();
      await new Promise((r) => setTimeout(r, 200));
      expect(receiver.on('/taken-over')).toHaveLength(0);
      await queue.add(DELIVER_BATCH_JOB, { deliveryIds: [row.id], claims: [moved] });
      await receiver.waitFor('/taken-over', 1);
      expect(await latestDelivery(u, hook.id, 'success')).toEqual(expect.objectContaining({ attempts: 1 }));
    });

    it('a batch that meets a delivery already attempted waits for its backoff and sends it once', async () => {
      const u = await registerUser(t, 'resumed');
      const hook = await createWebhook(u, { url: receiver.url('/resumed'), events: ['model.created'] });
      // Attempted once already (its batch ran before), its retry due in 1.5 s; then its batch runs twice more.
      const due = Date.now() + 1500;
      const row = await queuedDelivery(hook.id, {
        maxAttempts: 3,
        attempts: 1,
        nextAttemptAt: new Date(due),
      });
      const queue = webhookQueue();
      await queue.add(DELIVER_BATCH_JOB, { deliveryIds: [row.id] });
      await new Promise((r) => setTimeout(r, 300));
      await queue.add(DELIVER_BATCH_JOB, { deliveryIds: [row.id] });
      const [sent] = await receiver.waitFor('/resumed', 1);
      expect(sent.at).toBeGreaterThanOrEqual(due - 50);
      const delivery = await latestDelivery(u, hook.id, 'success');
      expect(delivery).toEqual(expect.objectContaining({ attempts: 2, status: 'success' }));
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.on('/resumed')).toHaveLength(1);
    });

    it('pages through deliveries one fan-out made together: each once, none skipped', async () => {
      const u = await registerUser(t, 'delivery-pager');
      const modelId = await uploadModel(u, 'paged');
      const hook = await createWebhook(u, { url: receiver.url('/paged'), events: ['model.updated'] });
      // Ten events committed at once: the relay fans them out in one statement, so their deliveries share the
      // statement's now() as created_at — more rows with one timestamp than a page of 3 holds.
      const events = 10;
      await t.orm.em.getConnection().execute(
        `insert into webhook_events (id, created_at, type, user_id, model_id, payload)
         select gen_random_uuid(), now(), 'model.updated', ?, ?, ?::jsonb from generate_series(1, ?)`,
        [
          u.id,
          modelId,
          JSON.stringify({ type: 'model.updated', timestamp: new Date().toISOString(), data: { modelId } }),
          events,
        ],
      );
      const connection = t.orm.em.getConnection();
      const stored = await eventually(async () => {
        const rows = await connection.execute<Array<{ id: string }>>(
          'select id from webhook_deliveries where webhook_id = ?',
          [hook.id],
        );
        return rows.length === events ? rows : null;
      });
      // The case that lost rows: the whole group shares one timestamp, and a page of 3 ends inside it.
      const [{ timestamps }] = await connection.execute<Array<{ timestamps: number }>>(
        'select count(distinct created_at)::int as timestamps from webhook_deliveries where webhook_id = ?',
        [hook.id],
      );
      expect(timestamps).toBe(1);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await t
          .http()
          .get(`/api/v1/webhooks/${hook.id}/deliveries`)
          .query(cursor ? { limit: 3, cursor } : { limit: 3 })
          .set('Authorization', bearer(u));
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(3);
        seen.push(...(res.body.items as Loose[]).map((d) => d.id as string));
        cursor = res.body.nextCursor as string | null;
        pages += 1;
      } while (cursor && pages < 10);
      expect(cursor).toBeNull();
      expect(seen).toHaveLength(events);
      expect([...seen].sort()).toEqual(stored.map((r) => r.id).sort());
    });

    it('redelivers a delivery with the same webhook-id, as a new log entry', async () => {
      const u = await registerUser(t, 'redeliver');
      const hook = await createWebhook(u, { url: receiver.url('/again'), events: ['model.created'] });
      const sent = await t.http().post(`/api/v1/webhooks/${hook.id}/test`).set('Authorization', bearer(u));
      const res = await t
        .http()
        .post(`/api/v1/webhooks/${hook.id}/deliveries/${sent.body.id}/redeliver`)
        .set('Authorization', bearer(u));
      expect(res.status).toBe(202);
      expect(res.body).toEqual(
        expect.objectContaining({
          eventId: sent.body.eventId,
          redeliveryOf: sent.body.id,
          status: 'pending',
        }),
      );
      const reqs = await receiver.waitFor('/again', 2);
      expect(reqs[1].headers['webhook-id']).toBe(reqs[0].headers['webhook-id']);
      expect(reqs[1].body).toBe(reqs[0].body);
      await eventually(async () =>
        (await deliveries(u, hook.id)).find((d) => d.id === res.body.id && d.status === 'success'),
      );

      const stranger = await t
        .http()
        .post(`/api/v1/webhooks/${hook.id}/deliveries/${sent.body.id}/redeliver`)
        .set('Authorization', bearer(bob));
      expectErrorShape(stranger.body, 404);
      const wrong = await t
        .http()
        .post(`/api/v1/webhooks/${hook.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`)
        .set('Authorization', bearer(u));
      expectErrorShape(wrong.body, 404);
    });
  });
});
