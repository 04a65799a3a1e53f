import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Receiver } from '../webhooks/support/receiver';
import { alive, NpmStart } from './support/npm-start';

/**
 * `npm start` with WEBHOOK_WORKERS=1: beside its API worker the primary forks a webhook worker, which alone
 * delivers (the API worker records and queues), is replaced when it dies, and stops with the rest on SIGTERM.
 */
jest.setTimeout(240_000);

const MODEL = readFileSync(path.join(__dirname, '..', 'fixtures', 'models', 'skl-linreg', 'model.onnx'));

describe('npm start with WEBHOOK_WORKERS=1 (node:cluster)', () => {
  const service = new NpmStart();
  let receiver: Receiver;
  let token: string;
  let secret: string;

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${service.base}/api/v1${url}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const uploadModel = async (name: string): Promise<string> => {
    const form = new FormData();
    form.append('name', name);
    form.append('file', new Blob([MODEL]), 'model.onnx');
    const res = await fetch(`${service.base}/api/v1/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  /** The `model.created` deliveries the receiver got, each checked against the webhook's signature. */
  const deliveredModelIds = () =>
    receiver.on('/cluster').map((req) => {
      const event = new StandardWebhook(secret).verify(req.body, {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      }) as { type: string; data: { modelId: string } };
      expect(event.type).toBe('model.created');
      return event.data.modelId;
    });

  beforeAll(async () => {
    receiver = await new Receiver().start();
    await service.start({ WEBHOOK_WORKERS: '1', WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
    await service.waitFor(/listening on .*, worker \d+/, 0);
    await service.waitFor(/webhook worker \d+ delivering webhooks/, 0);
    const registered = await api('POST', '/auth/register', {
      email: `cluster-${Date.now()}@example.com`,
      password: 'correct horse battery staple',
      fullName: 'Cluster Test',
    });
    expect(registered.status).toBe(201);
    token = registered.body.accessToken as string;
    const hook = await api('POST', '/webhooks', { url: receiver.url('/cluster'), events: ['model.created'] });
    expect(hook.status).toBe(201);
    secret = hook.body.secret as string;
  });

  afterAll(async () => {
    await service.close();
    await receiver.close();
  });

  it('runs an API worker and a webhook worker; only the webhook worker delivers', async () => {
    expect(service.output).toMatch(
      /Primary \d+: starting 1 workers \(WEB_CONCURRENCY\) and 1 webhook workers/,
    );
    const [apiPid] = service.apiWorkerPids();
    const [webhookPid] = service.webhookWorkerPids();
    expect(new Set([apiPid, webhookPid, service.primary.pid]).size).toBe(3);

    const modelIds: string[] = [];
    for (let i = 0; i < 4; i++) modelIds.push(await uploadModel(`model-${i}`));
    await receiver.waitFor('/cluster', 4, 60_000);
    expect(deliveredModelIds().sort()).toEqual([...modelIds].sort());
    // /metrics is the API worker's own registry: it counts the deliveries that process made, and there are none.
    const metrics = await (await fetch(`${service.base}/metrics`)).text();
    expect(metrics).toContain('modelport_webhook_deliveries_total');
    expect(metrics).not.toMatch(/^modelport_webhook_deliveries_total\{[^}]*\} [1-9]/m);
  });

  it('replaces a webhook worker that dies, and the new one delivers', async () => {
    const [victim] = service.webhookWorkerPids();
    const from = service.output.length;
    process.kill(victim, 'SIGKILL');
    await service.waitFor(
      new RegExp(`Webhook worker ${victim} exited \\(SIGKILL\\); starting a new one`),
      from,
    );
    const [, replacement] = await service.waitFor(/webhook worker (\d+) delivering webhooks/, from);
    expect(Number(replacement)).not.toBe(victim);
    expect(service.apiWorkerPids().filter(alive)).toHaveLength(1);

    const modelId = await uploadModel('after-restart');
    await receiver.waitFor('/cluster', 5, 60_000);
    expect(deliveredModelIds()).toContain(modelId);
  });

  it('stops every worker and exits 0 on SIGTERM', async () => {
    const pids = [...service.apiWorkerPids(), ...service.webhookWorkerPids()].filter(alive);
    expect(pids).toHaveLength(2);
    expect(await service.terminate()).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  });
});
