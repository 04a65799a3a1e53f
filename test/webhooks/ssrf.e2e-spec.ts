import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createTestApp, expectErrorShape, registerUser, RegisteredUser, TestApp } from '../support/test-app';
import { eventually, Receiver } from './support/receiver';

jest.setTimeout(60_000);

/** The one suite that runs with private targets refused, as in production. */
describe('webhooks SSRF guard (e2e, WEBHOOKS_ALLOW_PRIVATE_TARGETS=false)', () => {
  let t: TestApp;
  let receiver: Receiver;
  let u: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'false' } });
    receiver = await new Receiver().start();
    u = await registerUser(t, 'ssrf');
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  const create = (url: string) =>
    t
      .http()
      .post('/api/v1/webhooks')
      .set('Authorization', `Bearer ${u.accessToken}`)
      .send({ url, events: ['model.created'], maxRetries: 0 });

  it.each([
    ['http://127.0.0.1:8080/hook', 'loopback'],
    ['http://[::1]:8080/hook', 'loopback'],
    ['http://[::ffff:127.0.0.1]/hook', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://10.0.0.1/hook', 'private'],
    ['https://192.168.1.20/hook', 'private'],
    ['http://100.64.0.1/hook', 'carrier-grade NAT'],
    ['http://0.0.0.0/hook', 'unspecified'],
    ['http://[fd00::1]/hook', 'unique local'],
  ])('refuses %s at registration (%s)', async (url, reason) => {
    const res = await create(url);
    expectErrorShape(res.body, 400, 'INVALID_WEBHOOK_TARGET');
    expect(res.body.message).toContain(reason);
  });

  it('refuses loopback written as one decimal number', async () => {
    expectErrorShape((await create('http://2130706433/hook')).body, 400);
  });

  it('refuses a private literal IP on update too', async () => {
    const created = await create('https://example.com/hook');
    expect(created.status).toBe(201);
    const res = await t
      .http()
      .patch(`/api/v1/webhooks/${created.body.id}`)
      .set('Authorization', `Bearer ${u.accessToken}`)
      .send({ url: 'http://127.0.0.1/hook' });
    expectErrorShape(res.body, 400, 'INVALID_WEBHOOK_TARGET');
  });

  it('accepts a name that resolves to 127.0.0.1 but refuses to connect to it, marking the delivery failed', async () => {
    const created = await create(`http://localhost:${receiver.port}/rebind`);
    expect(created.status).toBe(201);
    const ping = await t
      .http()
      .post(`/api/v1/webhooks/${created.body.id}/test`)
      .set('Authorization', `Bearer ${u.accessToken}`);
    expect(ping.status).toBe(200);
    expect(ping.body).toEqual(
      expect.objectContaining({ status: 'failed', responseStatus: null, attempts: 1 }),
    );
    expect(ping.body.error).toMatch(
      /^Refused to connect to localhost: it resolves to (127\.0\.0\.1|::1) \(loopback\)$/,
    );

    // The queued path goes through the same guarded agent.
    const upload = await t
      .http()
      .post('/api/v1/models')
      .set('Authorization', `Bearer ${u.accessToken}`)
      .field('name', 'ssrf-model')
      .attach(
        'file',
        readFileSync(path.join(__dirname, '..', 'fixtures', 'models', 'skl-linreg', 'model.onnx')),
        'model.onnx',
      );
    expect(upload.status).toBe(201);
    const delivery = await eventually(async () => {
      const res = await t
        .http()
        .get(`/api/v1/webhooks/${created.body.id}/deliveries`)
        .set('Authorization', `Bearer ${u.accessToken}`);
      return (res.body.items as Array<{ eventType: string; status: string; error: string }>).find(
        (d) => d.eventType === 'model.created' && d.status === 'failed',
      );
    });
    expect(delivery.error).toMatch(/Refused to connect to localhost/);
    expect(receiver.requests).toHaveLength(0);
  });
});
