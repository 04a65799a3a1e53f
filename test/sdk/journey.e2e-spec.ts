// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- a global type alias file (not a module) that ts-jest must see
/// <reference path="./dom-globals.d.ts" />
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Webhook } from 'standardwebhooks';
import {
  createApiKey,
  createPrediction,
  createWebhook,
  getMe,
  getPrediction,
  listModels,
  listPredictions,
  login,
  register,
  revokeApiKey,
  shareModel,
  uploadModel,
} from '../../sdk/src';
import { createClient, createConfig, type Client } from '../../sdk/src/client';
import { createTestApp, TestApp, uniqueEmail } from '../support/test-app';

/**
 * The whole user journey through the generated SDK only (no supertest, no hand-written HTTP): what a client
 * application does, against a listening server.
 */

const MODEL = readFileSync(path.join(__dirname, '../fixtures/models/skl-linreg/model.onnx'));
const PASSWORD = 'correct horse battery staple';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local webhook receiver that answers 204 and remembers what it got. */
function startReceiver(): Promise<{ server: Server; url: string; received: Received[]; next: (type: string) => Promise<Received> }> {
  const received: Received[] = [];
  const waiters: { type: string; resolve: (r: Received) => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const item = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(item);
      const type = (JSON.parse(item.body) as { type?: string }).type;
      for (const waiter of waiters.filter((w) => w.type === type)) waiter.resolve(item);
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        server,
        url: `http://127.0.0.1:${port}/hooks`,
        received,
        next: (type) => {
          const already = received.find((r) => (JSON.parse(r.body) as { type?: string }).type === type);
          if (already) return Promise.resolve(already);
          return new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`no ${type} webhook within 20 s`)), 20_000);
            waiters.push({ type, resolve: (r) => (clearTimeout(timer), res(r)) });
          });
        },
      });
    });
  });
}

describe('the journey through the generated SDK', () => {
  let t: TestApp;
  let anonymous: Client;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const client = (headers: Record<string, string>) => createClient(createConfig({ baseUrl: t.baseUrl, headers }));

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    anonymous = createClient(createConfig({ baseUrl: t.baseUrl }));
    receiver = await startReceiver();
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver?.server.close(resolve));
    await t?.close();
  });

  it('register, log in, upload, share, key, predict (sync and async), webhook, list, revoke', async () => {
    // Register and log in.
    const email = uniqueEmail('sdk-owner');
    const registered = await register({ client: anonymous, body: { email, password: PASSWORD, fullName: 'SDK Owner' } });
    expect(registered.response.status).toBe(201);
    expect(registered.data?.user.email).toBe(email);
    const loggedIn = await login({ client: anonymous, body: { email, password: PASSWORD }, throwOnError: true });
    const owner = client({ Authorization: `Bearer ${loggedIn.data.accessToken}` });
    expect((await getMe({ client: owner, throwOnError: true })).data.email).toBe(email);

    // A bad password is a typed error in the shared shape.
    const wrong = await login({ client: anonymous, body: { email, password: 'wrong password!' } });
    expect(wrong.response.status).toBe(401);
    expect(wrong.error).toEqual(expect.objectContaining({ statusCode: 401, code: expect.any(String), requestId: expect.any(String) }));

    // Subscribe a webhook first, so the predictions below are delivered to the receiver.
    const webhook = await createWebhook({
      client: owner,
      body: { url: receiver.url, events: ['prediction.success', 'model.shared'], maxRetries: 0 },
      throwOnError: true,
    });
    expect(webhook.data.secret).toMatch(/^whsec_/);

    // Upload a model (multipart through the SDK).
    const uploaded = await uploadModel({
      client: owner,
      body: { file: new Blob([MODEL], { type: 'application/octet-stream' }), name: 'sdk-linreg', description: 'via the SDK' },
      throwOnError: true,
    });
    const modelId = uploaded.data.id;
    expect(uploaded.data).toEqual(expect.objectContaining({ name: 'sdk-linreg', version: 1, modelType: 'sklearn' }));

    // Share it with another user, who then sees it.
    const friendEmail = uniqueEmail('sdk-friend');
    const friendTokens = await register({
      client: anonymous,
      body: { email: friendEmail, password: PASSWORD, fullName: 'SDK Friend' },
      throwOnError: true,
    });
    const share = await shareModel({
      client: owner,
      path: { id: modelId },
      body: { email: friendEmail, permission: 'use' },
      throwOnError: true,
    });
    expect(share.data.permission).toBe('use');
    const friend = client({ Authorization: `Bearer ${friendTokens.data.accessToken}` });
    const friendModels = await listModels({ client: friend, throwOnError: true });
    expect(friendModels.data.items.map((m) => m.id)).toContain(modelId);

    // Create an API key and predict with it, synchronously...
    const key = await createApiKey({ client: owner, body: { name: 'sdk journey' }, throwOnError: true });
    const withKey = client({ 'X-API-Key': key.data.key });
    const sync = await createPrediction({
      client: withKey,
      path: { id: modelId },
      body: { input: [[5.1, 3.5, 1.4, 0.2]] },
      throwOnError: true,
    });
    expect(sync.response.status).toBe(201);
    expect(sync.data.status).toBe('success');
    expect(sync.data.output).toBeDefined();

    // ...and asynchronously (Prefer: respond-async), polling until it succeeds.
    const queued = await createPrediction({
      client: withKey,
      path: { id: modelId },
      body: { input: [[6.2, 2.9, 4.3, 1.3]] },
      headers: { Prefer: 'respond-async' },
      throwOnError: true,
    });
    expect(queued.response.status).toBe(202);
    expect(queued.data.status).toBe('pending');
    let polled = queued.data;
    for (let i = 0; i < 100 && polled.status === 'pending'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      polled = (await getPrediction({ client: withKey, path: { id: queued.data.id }, throwOnError: true })).data;
    }
    expect(polled.status).toBe('success');
    expect(polled.output).toBeDefined();

    // The webhook arrived at the local receiver, signed with the subscription's secret.
    const delivery = await receiver.next('prediction.success');
    const verified = new Webhook(webhook.data.secret).verify(delivery.body, {
      'webhook-id': String(delivery.headers['webhook-id']),
      'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
      'webhook-signature': String(delivery.headers['webhook-signature']),
    }) as { type: string; data: Record<string, unknown> };
    expect(verified.type).toBe('prediction.success');
    expect(JSON.stringify(verified.data)).toContain(modelId);

    // List predictions: both, newest first.
    const listed = await listPredictions({ client: withKey, query: { limit: 10 }, throwOnError: true });
    expect(listed.data.items.map((p) => p.id)).toEqual([queued.data.id, sync.data.id]);

    // Revoke the key: it stops working (401).
    const revoked = await revokeApiKey({ client: owner, path: { id: key.data.id } });
    expect(revoked.response.status).toBe(204);
    const refused = await createPrediction({ client: withKey, path: { id: modelId }, body: { input: [[1, 2, 3, 4]] } });
    expect(refused.response.status).toBe(401);
    expect(refused.error).toEqual(expect.objectContaining({ statusCode: 401 }));
  }, 120_000);
});
