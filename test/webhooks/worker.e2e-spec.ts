import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { WebhookWorkerModule } from '../../src/webhooks/webhook-worker.module';
import { createTestApp, registerUser, TestApp } from '../support/test-app';
import { Receiver } from './support/receiver';

jest.setTimeout(90_000);

/** WEBHOOKS_CONSUME_QUEUE=false: the API process records and queues, and only the worker delivers. */
describe('webhook worker (e2e)', () => {
  let t: TestApp;
  let receiver: Receiver;
  let worker: INestApplicationContext | null = null;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOKS_CONSUME_QUEUE: 'false' } });
    receiver = await new Receiver().start();
  });
  afterAll(async () => {
    await worker?.close();
    await t.close();
    await receiver.close();
  });

  it('an API process that does not consume leaves delivery to the worker', async () => {
    const u = await registerUser(t, 'worker');
    const hook = await t
      .http()
      .post('/api/v1/webhooks')
      .set('Authorization', `Bearer ${u.accessToken}`)
      .send({ url: receiver.url('/worker'), events: ['model.created'] });
    expect(hook.status).toBe(201);
    const upload = await t
      .http()
      .post('/api/v1/models')
      .set('Authorization', `Bearer ${u.accessToken}`)
      .field('name', 'worker-model')
      .attach(
        'file',
        readFileSync(path.join(__dirname, '..', 'fixtures', 'models', 'skl-linreg', 'model.onnx')),
        'model.onnx',
      );
    expect(upload.status).toBe(201);

    // Relayed and queued by the API process, but nobody there takes the job.
    await new Promise((r) => setTimeout(r, 1500));
    const [queued] = await t.orm.em
      .getConnection()
      .execute('select status, attempts, queued_at from webhook_deliveries where webhook_id = ?', [
        hook.body.id,
      ]);
    expect(queued).toEqual(expect.objectContaining({ status: 'pending', attempts: 0 }));
    expect(queued.queued_at).not.toBeNull();
    expect(receiver.requests).toHaveLength(0);

    worker = await NestFactory.createApplicationContext(WebhookWorkerModule.forRoot(t.config), {
      logger: false,
    });
    await worker.init();
    const [req] = await receiver.waitFor('/worker', 1, 30_000);
    expect(JSON.parse(req.body)).toEqual(
      expect.objectContaining({
        type: 'model.created',
        data: expect.objectContaining({ modelId: upload.body.id }),
      }),
    );
  });
});
