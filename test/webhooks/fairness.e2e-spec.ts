import { loadModelFolder } from '../../src/inference/testing/model-cases';
import { FIXTURES_DIR, uploadOk } from '../predictions/prediction-helpers';
import { createTestApp, registerUser, RegisteredUser, TestApp } from '../support/test-app';
import { eventually, Receiver } from './support/receiver';

const bearer = (u: RegisteredUser) => `Bearer ${u.accessToken}`;

/** How long the slow endpoint holds each request before answering 200 (under its 5 s timeout). */
const HOLD_MS = 2500;
/** Events for the slow endpoint: more than the process's batch slots (8) and its send slots (3 here). */
const SLOW_EVENTS = 10;

jest.setTimeout(90_000);

/**
 * One tenant's slow endpoint must not hold up another tenant's deliveries: a webhook never holds every send slot,
 * a slow one at most two, and a delivery waiting for them does not keep its batch job's slot.
 */
describe('webhook delivery fairness (e2e)', () => {
  let t: TestApp;
  let receiver: Receiver;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOKS_DELIVERY_CONCURRENCY: '3' } });
    receiver = await new Receiver().start();
    [alice, bob] = await Promise.all([registerUser(t, 'alice'), registerUser(t, 'bob')]);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  async function subscribe(u: RegisteredUser, pathName: string, modelId: string): Promise<string> {
    const res = await t
      .http()
      .post('/api/v1/webhooks')
      .set('Authorization', bearer(u))
      .send({
        url: receiver.url(pathName),
        events: ['model.updated'],
        modelId,
        timeoutSeconds: 5,
        maxRetries: 0,
      });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  const describeModel = (u: RegisteredUser, id: string, description: string) =>
    t.http().patch(`/api/v1/models/${id}`).set('Authorization', bearer(u)).send({ description });

  it("delivers to a fast endpoint while a slow one's requests are held, and the slow one still gets every event", async () => {
    const linreg = loadModelFolder(FIXTURES_DIR, 'skl-linreg');
    const slowModel = (await uploadOk(t, alice.accessToken, linreg, { name: 'slow-owner' })).id;
    const fastModel = (await uploadOk(t, bob.accessToken, linreg, { name: 'fast-owner' })).id;
    const slowHook = await subscribe(alice, '/slow', slowModel);
    await subscribe(bob, '/fast', fastModel);
    receiver.respond('/slow', () => ({ status: 200, body: 'ok', delayMs: HOLD_MS }));

    for (let i = 0; i < SLOW_EVENTS; i++)
      expect((await describeModel(alice, slowModel, `v${i}`)).status).toBe(200);
    const [firstSlow] = await receiver.waitFor('/slow', 1);
    expect((await describeModel(bob, fastModel, 'hello')).status).toBe(200);

    const [fast] = await receiver.waitFor('/fast', 1);
    // Bob's delivery went out while Alice's first requests were still held, and Alice had only two in flight.
    expect(fast.at).toBeLessThan(firstSlow.at + HOLD_MS);
    expect(receiver.on('/slow').filter((r) => r.at <= fast.at).length).toBeLessThanOrEqual(2);

    // Every one of Alice's events still arrives, once, and is recorded as delivered.
    const slow = await receiver.waitFor('/slow', SLOW_EVENTS, 60_000);
    expect(new Set(slow.map((r) => r.headers['webhook-id'])).size).toBe(SLOW_EVENTS);
    const statuses = await eventually(async () => {
      const rows = await t.orm.em
        .getConnection()
        .execute<Array<{ status: string }>>('select status from webhook_deliveries where webhook_id = ?', [
          slowHook,
        ]);
      return rows.length === SLOW_EVENTS && rows.every((r) => r.status === 'success') ? rows : null;
    }, 30_000);
    expect(statuses).toHaveLength(SLOW_EVENTS);
    expect(receiver.on('/slow')).toHaveLength(SLOW_EVENTS);
  });
});
