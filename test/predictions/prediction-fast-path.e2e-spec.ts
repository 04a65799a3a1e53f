import * as http from 'node:http';
import { loadModelFolder } from '../../src/inference/testing/model-cases';
import {
  createTestApp,
  expectErrorShape,
  makeAdmin,
  registerUser,
  RegisteredUser,
  TestApp,
} from '../support/test-app';
import { FIXTURES_DIR, predictionRow, uploadOk, UploadedModel } from './prediction-helpers';

/**
 * `POST /models/{id}/predictions` is answered in front of Express (PredictionFastPath). These tests hold it to the
 * Nest route's contract — headers, error shapes, body limits — and check that what it caches (API keys, users,
 * model access) follows every change made on another instance from the next request on.
 */
describe('prediction fast path (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  let owner: RegisteredUser;
  let admin: RegisteredUser;
  let model: UploadedModel;
  const input = { input: [[1, 2, 3, 4]] };
  const bearer = (u: RegisteredUser) => ({ Authorization: `Bearer ${u.accessToken}` });

  async function createKey(
    t: TestApp,
    u: RegisteredUser,
    name = 'fast',
  ): Promise<{ id: string; key: string }> {
    const res = await t.http().post('/api/v1/api-keys').set(bearer(u)).send({ name });
    expect(res.status).toBe(201);
    return res.body as { id: string; key: string };
  }
  const predictWithKey = (t: TestApp, key: string, modelId = model.id) =>
    t.http().post(`/api/v1/models/${modelId}/predictions`).set('X-API-Key', key).send(input);

  beforeAll(async () => {
    a = await createTestApp({ env: { MAX_JSON_BODY_BYTES: '4096' }, listen: true });
    b = await createTestApp({ sameStateAs: a, env: { MAX_JSON_BODY_BYTES: '4096' } });
    [owner, admin] = await Promise.all([registerUser(a, 'owner'), registerUser(a, 'admin')]);
    await makeAdmin(a, admin.id);
    model = await uploadOk(a, owner.accessToken, loadModelFolder(FIXTURES_DIR, 'skl-linreg'));
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  describe('answers as the Nest route does', () => {
    it('201 with the prediction, the request id, the rate-limit and security headers, and a durable row', async () => {
      const { key } = await createKey(a, owner);
      const res = await predictWithKey(a, key).set('X-Request-Id', 'fast-path-1');
      expect(res.status).toBe(201);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-request-id']).toBe('fast-path-1');
      expect(res.headers['vary']).toBe('Prefer');
      expect(res.headers['x-ratelimit-limit-predictions']).toBe('100000000');
      expect(res.headers['x-ratelimit-remaining-predictions']).toBe('99999999');
      expect(res.body).toMatchObject({ modelId: model.id, userId: owner.id, status: 'success' });
      expect((await predictionRow(a, res.body.id as string))?.status).toBe('success');

      // The queued variant still goes through Express and Nest: the same security headers on both.
      const queued = await a
        .http()
        .post(`/api/v1/models/${model.id}/predictions`)
        .set('X-API-Key', key)
        .set('Prefer', 'respond-async')
        .send(input);
      expect(queued.status).toBe(202);
      const security = (h: Record<string, string>) =>
        Object.fromEntries(
          Object.entries(h).filter(([name]) =>
            /^(x-content-type-options|x-frame-options|strict-transport-security|referrer-policy|cross-origin-opener-policy|cross-origin-resource-policy|x-dns-prefetch-control|x-download-options|x-permitted-cross-domain-policies|x-xss-protection|origin-agent-cluster)$/.test(
              name,
            ),
          ),
        );
      expect(Object.keys(security(res.headers)).length).toBeGreaterThanOrEqual(8);
      expect(security(res.headers)).toEqual(security(queued.headers));
      expect(res.headers['x-powered-by']).toBeUndefined();
    });

    it('records and echoes the input as it was sent (spacing and number spelling kept)', async () => {
      const { key } = await createKey(a, owner, 'verbatim');
      const postText = (body: string) =>
        a
          .http()
          .post(`/api/v1/models/${model.id}/predictions`)
          .set('X-API-Key', key)
          .set('Content-Type', 'application/json')
          .send(body);
      const sent = '[ [1.50, 2, 3e0,\n 4] ]';
      const res = await postText(`{ "input" : ${sent} }`);
      expect(res.status).toBe(201);
      expect(res.text).toContain(`"input":${sent},`);
      expect(res.body.input).toEqual([[1.5, 2, 3, 4]]);
      const [row] = await a.orm.em
        .getConnection()
        .execute<Array<{ text: string }>>('select input_data::text as text from predictions where id = ?', [
          res.body.id,
        ]);
      expect(row.text).toBe(sent);
      // A duplicated key is not taken verbatim: the row holds the value JSON.parse kept.
      const twice = await postText('{"input": [[9, 9, 9, 9]], "input": [[1, 2, 3, 4]]}');
      expect(twice.status).toBe(201);
      expect((await predictionRow(a, twice.body.id as string))?.input_data).toEqual([[1, 2, 3, 4]]);
    });

    it('accepts a login token as well, and refuses a bad one with 401', async () => {
      const ok = await a.http().post(`/api/v1/models/${model.id}/predictions`).set(bearer(owner)).send(input);
      expect(ok.status).toBe(201);
      const bad = await a
        .http()
        .post(`/api/v1/models/${model.id}/predictions`)
        .set('Authorization', 'Bearer not.a.jwt')
        .send(input);
      expectErrorShape(bad.body, 401, 'INVALID_TOKEN');
      const none = await a.http().post(`/api/v1/models/${model.id}/predictions`).send(input);
      expectErrorShape(none.body, 401, 'UNAUTHENTICATED');
      expect(none.headers['x-request-id']).toBe(none.body.requestId);
    });

    it('400 MALFORMED_JSON for broken JSON and for a bare JSON value, 413 over the body limit', async () => {
      const raw = (body: string) =>
        a
          .http()
          .post(`/api/v1/models/${model.id}/predictions`)
          .set(bearer(owner))
          .set('Content-Type', 'application/json')
          .send(body);
      expectErrorShape((await raw('{"input": [[1, 2')).body, 400, 'MALFORMED_JSON');
      expectErrorShape((await raw('123')).body, 400, 'MALFORMED_JSON');
      const big = await raw(JSON.stringify({ input: [Array.from({ length: 2000 }, () => 1.5)] }));
      expect(big.status).toBe(413);
      expectErrorShape(big.body, 413, 'PAYLOAD_TOO_LARGE');
      // An empty body is an empty object, as with body-parser: the DTO check names the missing input.
      const empty = await raw('');
      expectErrorShape(empty.body, 400, 'VALIDATION_FAILED');
      expect(empty.body.message).toMatch(/input/);
      // Unknown top-level fields are refused as by the global ValidationPipe.
      const extra = await raw(JSON.stringify({ ...input, extra: 1 }));
      expectErrorShape(extra.body, 400, 'VALIDATION_FAILED');
      expect(extra.body.message).toMatch(/extra/);
    });

    it('413 for a chunked body that grows past the limit, closing the connection rather than reading on', async () => {
      const answer = await new Promise<{ status: number; body: string; connection?: string }>(
        (resolve, reject) => {
          const req = http.request(
            `${a.baseUrl}/api/v1/models/${model.id}/predictions`,
            {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${owner.accessToken}` },
            },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (body += chunk));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }),
              );
            },
          );
          req.on('error', (err) => reject(err));
          req.write('{"input": [[');
          for (let i = 0; i < 500; i++) req.write('1.5, 1.5, 1.5, 1.5, '); // ~10 KB, over the 4 KB limit
          req.end('1]]}');
        },
      );
      expect(answer.status).toBe(413);
      expectErrorShape(JSON.parse(answer.body), 413, 'PAYLOAD_TOO_LARGE');
      expect(answer.connection).toBe('close');
    });

    it('leaves other media types to Express, which refuses them in the error shape', async () => {
      const res = await a
        .http()
        .post(`/api/v1/models/${model.id}/predictions`)
        .set(bearer(owner))
        .set('Content-Type', 'text/plain')
        .send('{"input": [[1, 2, 3, 4]]}');
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectErrorShape(res.body, res.status);
    });

    it('404 for an unknown model, 400 for an id that is not a UUID (Express route)', async () => {
      const { key } = await createKey(a, owner, 'unknown-model');
      expectErrorShape(
        (await predictWithKey(a, key, '00000000-0000-4000-8000-000000000000')).body,
        404,
        'NOT_FOUND',
      );
      expectErrorShape((await predictWithKey(a, key, 'not-a-uuid')).body, 400, 'VALIDATION_FAILED');
    });
  });

  describe('cached access follows changes made on another instance from the next request', () => {
    let user: RegisteredUser;
    let key: string;
    let shareId: string;

    beforeAll(async () => {
      user = await registerUser(a, 'sharee');
      const share = await a
        .http()
        .post(`/api/v1/models/${model.id}/shares`)
        .set(bearer(owner))
        .send({ email: user.email, permission: 'use' });
      expect(share.status).toBe(201);
      shareId = share.body.id as string;
      key = (await createKey(a, user)).key;
    });

    /** Two answers on instance A, so its caches are warm for this caller and model. */
    async function warm(): Promise<void> {
      for (let i = 0; i < 2; i++) expect((await predictWithKey(a, key)).status).toBe(201);
    }

    it('archiving the model (409), then reactivating it (201)', async () => {
      await warm();
      const patch = (status: string) =>
        b.http().patch(`/api/v1/models/${model.id}`).set(bearer(owner)).send({ status });
      expect((await patch('archived')).status).toBe(200);
      expectErrorShape((await predictWithKey(a, key)).body, 409, 'MODEL_ARCHIVED');
      expect((await patch('active')).status).toBe(200);
      expect((await predictWithKey(a, key)).status).toBe(201);
    });

    it('lowering the share to view (403), then revoking it (404)', async () => {
      await warm();
      const setPermission = (permission: string) =>
        b
          .http()
          .patch(`/api/v1/models/${model.id}/shares/${shareId}`)
          .set(bearer(owner))
          .send({ permission });
      expect((await setPermission('view')).status).toBe(200);
      expectErrorShape((await predictWithKey(a, key)).body, 403, 'INSUFFICIENT_PERMISSION');
      expect((await setPermission('use')).status).toBe(200);
      await warm();
      const revoked = await b
        .http()
        .delete(`/api/v1/models/${model.id}/shares/${shareId}`)
        .set(bearer(owner));
      expect(revoked.status).toBe(204);
      expectErrorShape((await predictWithKey(a, key)).body, 404, 'NOT_FOUND');
    });

    it('deactivating the user (401 USER_INACTIVE), and revoking the key (401 INVALID_API_KEY)', async () => {
      const own = await uploadOk(a, user.accessToken, loadModelFolder(FIXTURES_DIR, 'skl-linreg'), {
        name: 'sharee-own',
      });
      for (let i = 0; i < 2; i++) expect((await predictWithKey(a, key, own.id)).status).toBe(201);
      const setActive = (isActive: boolean) =>
        b.http().patch(`/api/v1/admin/users/${user.id}`).set(bearer(admin)).send({ isActive });
      expect((await setActive(false)).status).toBe(200);
      expectErrorShape((await predictWithKey(a, key, own.id)).body, 401, 'USER_INACTIVE');
      expect((await setActive(true)).status).toBe(200);
      expect((await predictWithKey(a, key, own.id)).status).toBe(201);

      const second = await createKey(a, user, 'second');
      expect((await predictWithKey(a, second.key, own.id)).status).toBe(201);
      const login = await b
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password });
      const revoked = await b
        .http()
        .delete(`/api/v1/api-keys/${second.id}`)
        .set('Authorization', `Bearer ${login.body.accessToken as string}`);
      expect(revoked.status).toBe(204);
      expectErrorShape((await predictWithKey(a, second.key, own.id)).body, 401, 'INVALID_API_KEY');
      expect((await predictWithKey(a, key, own.id)).status).toBe(201);
    });

    it('deleting the model (404)', async () => {
      const doomed = await uploadOk(a, owner.accessToken, loadModelFolder(FIXTURES_DIR, 'skl-linreg'), {
        name: 'doomed',
      });
      const ownerKey = (await createKey(a, owner, 'doomed')).key;
      for (let i = 0; i < 2; i++) expect((await predictWithKey(a, ownerKey, doomed.id)).status).toBe(201);
      expect((await b.http().delete(`/api/v1/models/${doomed.id}`).set(bearer(owner))).status).toBe(204);
      expectErrorShape((await predictWithKey(a, ownerKey, doomed.id)).body, 404, 'NOT_FOUND');
    });
  });
});
