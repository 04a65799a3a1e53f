import { loadModelFolder, ModelFolder } from '../../src/inference/testing/model-cases';
import { createTestApp, expectErrorShape, registerUser, RegisteredUser, TestApp } from '../support/test-app';
import {
  caseInput,
  compareOutputs,
  FIXTURES_DIR,
  predictionRow,
  predictionRows,
  uploadOk,
  UploadedModel,
  waitForOutcome,
} from './prediction-helpers';

/** Bad input, lifecycle, async, visibility and listing of predictions, all through HTTP. */
describe('predictions (e2e)', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  let other: RegisteredUser;
  let linregFolder: ModelFolder;
  let mixedFolder: ModelFolder;
  let multiioFolder: ModelFolder;
  /** float32 [N, 4], one input "input" */
  let linreg: UploadedModel;
  /** int64 input1 [N, 1] + float32 input2 [N, 1] */
  let mixed: UploadedModel;
  /** int32 x [batch, 100] + float32 y [batch, 100] */
  let multiio: UploadedModel;

  const post = (token: string, modelId: string, body: unknown) =>
    t
      .http()
      .post(`/api/v1/models/${modelId}/predictions`)
      .set('Authorization', `Bearer ${token}`)
      .send(body as object);
  const get = (token: string, url: string) =>
    t.http().get(`/api/v1${url}`).set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    t = await createTestApp();
    [owner, other] = await Promise.all([registerUser(t, 'owner'), registerUser(t, 'other')]);
    linregFolder = loadModelFolder(FIXTURES_DIR, 'skl-linreg');
    mixedFolder = loadModelFolder(FIXTURES_DIR, 'skl-pipeline-mixed');
    multiioFolder = loadModelFolder(FIXTURES_DIR, 'pt-tiny-multiio');
    linreg = await uploadOk(t, owner.accessToken, linregFolder);
    mixed = await uploadOk(t, owner.accessToken, mixedFolder);
    multiio = await uploadOk(t, owner.accessToken, multiioFolder);
  });
  afterAll(async () => {
    await t.close();
  });

  /**
   * Sends a bad input and checks the answer (status, code, a message naming the problem) and that exactly one
   * `failed` row with that message and the input as given was recorded.
   */
  async function expectRefusedAndRecorded(
    model: UploadedModel,
    input: unknown,
    status: number,
    code: string,
    message: RegExp,
  ): Promise<void> {
    const before = await predictionRows(t, owner.id, model.id);
    const res = await post(owner.accessToken, model.id, { input });
    expect({ status: res.status, body: res.body }).toEqual({
      status,
      body: expect.objectContaining({ code }),
    });
    expectErrorShape(res.body, status, code);
    expect(res.body.message).toMatch(message);
    const after = await predictionRows(t, owner.id, model.id);
    expect(after).toHaveLength(before.length + 1);
    expect(after[0]).toMatchObject({
      status: 'failed',
      error_message: res.body.message,
      output_data: null,
      inference_time_ms: null,
    });
    expect(after[0].input_data).toEqual(input);
  }

  describe('bad input: the caller gets a 4xx and a failed row is recorded', () => {
    it('wrong shape (3 features where the model takes 4)', async () => {
      await expectRefusedAndRecorded(linreg, { input: [[1, 2, 3]] }, 400, 'INVALID_INPUT', /input.*\[0\]/);
    });

    it('wrong rank (a flat array for a [N, 4] tensor)', async () => {
      await expectRefusedAndRecorded(linreg, [1, 2, 3, 4], 400, 'INVALID_INPUT', /input/);
    });

    it('a string in a float tensor', async () => {
      await expectRefusedAndRecorded(
        linreg,
        { input: [[1, 'a', 3, 4]] },
        400,
        'INVALID_INPUT',
        /\[0\]\[1\].*number/,
      );
    });

    it('the string "NaN" in a float tensor', async () => {
      await expectRefusedAndRecorded(
        linreg,
        { input: [['NaN', 1, 2, 3]] },
        400,
        'INVALID_INPUT',
        /\[0\]\[0\].*number/,
      );
    });

    it('1.5 in an int64 tensor', async () => {
      await expectRefusedAndRecorded(
        mixed,
        { input1: [[1.5]], input2: [[0.5]] },
        400,
        'INVALID_INPUT',
        /input1.*integer/,
      );
    });

    it('a float in an int32 tensor', async () => {
      const input = caseInput(multiioFolder, 0);
      (input.x as number[][])[0][0] = 0.25;
      await expectRefusedAndRecorded(multiio, input, 400, 'INVALID_INPUT', /"x".*integer/);
    });

    it('a missing input name', async () => {
      await expectRefusedAndRecorded(
        mixed,
        { input1: [[1]] },
        400,
        'INVALID_INPUT',
        /missing input "input2"/,
      );
    });

    it('an extra input name', async () => {
      await expectRefusedAndRecorded(
        mixed,
        { input1: [[1]], input2: [[0.5]], input3: [[1]] },
        400,
        'INVALID_INPUT',
        /unknown input "input3"/,
      );
    });

    it('an empty array', async () => {
      await expectRefusedAndRecorded(linreg, [], 400, 'INVALID_INPUT', /input/);
    });

    it('an empty row', async () => {
      await expectRefusedAndRecorded(linreg, { input: [[]] }, 400, 'INVALID_INPUT', /input/);
    });

    it('a bare array for a model with two inputs', async () => {
      await expectRefusedAndRecorded(mixed, [[1]], 400, 'INVALID_INPUT', /2 inputs \("input1", "input2"\)/);
    });

    it('a scalar instead of tensors', async () => {
      await expectRefusedAndRecorded(linreg, 42, 400, 'INVALID_INPUT', /input/);
    });

    it('inputs with different row counts on a row-by-row model (caught by the engine, not the schema)', async () => {
      await expectRefusedAndRecorded(
        mixed,
        { input1: [[1], [2]], input2: [[0.5]] },
        400,
        'INVALID_INPUT',
        /same number of rows/,
      );
    });

    it('a string holding U+0000 is refused and recorded with the character replaced', async () => {
      const before = await predictionRows(t, owner.id, linreg.id);
      const res = await post(owner.accessToken, linreg.id, { input: { input: [['a\u0000b', 1, 2, 3]] } });
      expectErrorShape(res.body, 400, 'INVALID_INPUT');
      const after = await predictionRows(t, owner.id, linreg.id);
      expect(after).toHaveLength(before.length + 1);
      expect(after[0]).toMatchObject({ status: 'failed', input_data: { input: [['a\uFFFDb', 1, 2, 3]] } });
    });

    it('an input nested deeper than 32 levels is refused and recorded; the owner still reads it back', async () => {
      // A caller with a `use` share must not be able to make the owner's history unreadable.
      const tenant = await registerUser(t, 'deep-nesting');
      const shared = await t
        .http()
        .post(`/api/v1/models/${linreg.id}/shares`)
        .set('Authorization', `Bearer ${owner.accessToken}`)
        .send({ userId: tenant.id, permission: 'use' });
      expect(shared.status).toBe(201);
      let input: unknown = 1;
      for (let i = 0; i < 40; i++) input = [input];
      for (const prefer of [undefined, 'respond-async']) {
        const before = await predictionRows(t, tenant.id, linreg.id);
        let req = t
          .http()
          .post(`/api/v1/models/${linreg.id}/predictions`)
          .set('Authorization', `Bearer ${tenant.accessToken}`);
        if (prefer) req = req.set('Prefer', prefer);
        const res = await req.send({ input });
        expectErrorShape(res.body, 400, 'INVALID_INPUT');
        expect(res.body.message).toMatch(/deeper than 32 levels/);
        const after = await predictionRows(t, tenant.id, linreg.id);
        expect(after).toHaveLength(before.length + 1);
        expect(after[0]).toMatchObject({ status: 'failed', input_data: input });
        const listed = await get(owner.accessToken, `/models/${linreg.id}/predictions?limit=100`);
        expect(listed.status).toBe(200);
        expect(listed.body.items.map((p: { id: string }) => p.id)).toContain(after[0].id);
        expect((await get(owner.accessToken, `/predictions/${after[0].id}`)).body).toMatchObject({
          status: 'failed',
          input,
        });
      }
    });
  });

  describe('request shape errors are 400 and record nothing (no input, so no attempt)', () => {
    it.each([
      ['no input', {}, /input should not be null or undefined/],
      ['input null', { input: null }, /input should not be null or undefined/],
      ['an unknown top-level field', { input: [[1, 2, 3, 4]], extra: 1 }, /property extra should not exist/],
    ])('%s', async (_label, body, message) => {
      const before = await predictionRows(t, owner.id, linreg.id);
      const res = await post(owner.accessToken, linreg.id, body);
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toMatch(message);
      expect(await predictionRows(t, owner.id, linreg.id)).toHaveLength(before.length);
    });

    it('a body nested thousands deep is refused as a whole (sync and async), not a 500', async () => {
      const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
      for (const prefer of [undefined, 'respond-async']) {
        const before = await predictionRows(t, owner.id, linreg.id);
        let req = t
          .http()
          .post(`/api/v1/models/${linreg.id}/predictions`)
          .set('Authorization', `Bearer ${owner.accessToken}`)
          .set('Content-Type', 'application/json');
        if (prefer) req = req.set('Prefer', prefer);
        const res = await req.send(`{"input":${deep}}`);
        expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
        expect(res.body.message).toBe('The JSON body nests arrays and objects deeper than 64 levels');
        expect(await predictionRows(t, owner.id, linreg.id)).toHaveLength(before.length);
      }
    });

    it('a "__proto__" field is refused like any unknown field', async () => {
      const res = await t
        .http()
        .post(`/api/v1/models/${linreg.id}/predictions`)
        .set('Authorization', `Bearer ${owner.accessToken}`)
        .set('Content-Type', 'application/json')
        .send('{"input": [[1, 2, 3, 4]], "__proto__": {"x": 1}}');
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
    });

    it('a body that is a JSON array', async () => {
      const res = await post(owner.accessToken, linreg.id, [[1, 2, 3, 4]]);
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
    });

    it('malformed JSON', async () => {
      const res = await t
        .http()
        .post(`/api/v1/models/${linreg.id}/predictions`)
        .set('Authorization', `Bearer ${owner.accessToken}`)
        .set('Content-Type', 'application/json')
        .send('{"input": [[1,2');
      expectErrorShape(res.body, 400, 'MALFORMED_JSON');
    });

    it('a model id that is not a UUID', async () => {
      const res = await post(owner.accessToken, 'not-a-uuid', { input: [[1, 2, 3, 4]] });
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
    });
  });

  describe('lifecycle and visibility', () => {
    it("another user's model is a 404 and nothing is recorded", async () => {
      const res = await post(other.accessToken, linreg.id, { input: [[1, 2, 3, 4]] });
      expectErrorShape(res.body, 404, 'NOT_FOUND');
      const rows = await t.orm.em
        .getConnection()
        .execute('select id from predictions where user_id = ?', [other.id]);
      expect(rows).toHaveLength(0);
    });

    it('an unknown model is a 404', async () => {
      const res = await post(owner.accessToken, '00000000-0000-4000-8000-000000000000', {
        input: [[1, 2, 3, 4]],
      });
      expectErrorShape(res.body, 404, 'NOT_FOUND');
    });

    it('no credentials is a 401', async () => {
      const res = await t
        .http()
        .post(`/api/v1/models/${linreg.id}/predictions`)
        .send({ input: [[1, 2, 3, 4]] });
      expectErrorShape(res.body, 401);
    });

    it('an archived model answers 409 saying so, and records nothing (inference was never attempted)', async () => {
      const model = await uploadOk(t, owner.accessToken, linregFolder, { name: 'archived-linreg' });
      const patch = await t
        .http()
        .patch(`/api/v1/models/${model.id}`)
        .set('Authorization', `Bearer ${owner.accessToken}`)
        .send({ status: 'archived' });
      expect(patch.status).toBe(200);
      const res = await post(owner.accessToken, model.id, { input: [[1, 2, 3, 4]] });
      expectErrorShape(res.body, 409, 'MODEL_ARCHIVED');
      expect(res.body.message).toMatch(/archived/);
      expect(await predictionRows(t, owner.id, model.id)).toHaveLength(0);
      // Also when queued: refused up front.
      const queued = await post(owner.accessToken, model.id, { input: [[1, 2, 3, 4]] }).set(
        'Prefer',
        'respond-async',
      );
      expectErrorShape(queued.body, 409, 'MODEL_ARCHIVED');
    });

    it('a deprecated model still serves, with a Deprecation header and a Link to its versions', async () => {
      const model = await uploadOk(t, owner.accessToken, linregFolder, { name: 'deprecated-linreg' });
      const patch = await t
        .http()
        .patch(`/api/v1/models/${model.id}`)
        .set('Authorization', `Bearer ${owner.accessToken}`)
        .send({ status: 'deprecated' });
      expect(patch.status).toBe(200);
      const res = await post(owner.accessToken, model.id, { input: caseInput(linregFolder, 0) });
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('success');
      expect(res.headers.deprecation).toBe('true');
      expect(res.headers.link).toBe(`</api/v1/models/${model.id}/versions>; rel="deprecation"`);
      expect(compareOutputs(linregFolder, 0, res.body.output)).toEqual([]);
    });

    it("validates against the model's current inputSchema: a PATCHed schema applies to the next prediction", async () => {
      const model = await uploadOk(t, owner.accessToken, linregFolder, { name: 'schema-change' });
      expect((await post(owner.accessToken, model.id, { input: [[50, 2, 3, 4]] })).status).toBe(201);
      const strict = {
        type: 'object',
        properties: {
          input: {
            type: 'array',
            minItems: 1,
            items: { type: 'array', minItems: 4, maxItems: 4, items: { type: 'number', maximum: 10 } },
          },
        },
        required: ['input'],
        additionalProperties: false,
      };
      await t
        .http()
        .patch(`/api/v1/models/${model.id}`)
        .set('Authorization', `Bearer ${owner.accessToken}`)
        .send({ inputSchema: strict })
        .expect(200);
      await expectRefusedAndRecorded(model, [[50, 2, 3, 4]], 400, 'INVALID_INPUT', /\[0\]\[0\].*<= 10/);
      expect((await post(owner.accessToken, model.id, { input: [[5, 2, 3, 4]] })).status).toBe(201);
    });

    it('an active model answers without a Deprecation header', async () => {
      const res = await post(owner.accessToken, linreg.id, { input: [[1, 2, 3, 4]] });
      expect(res.status).toBe(201);
      expect(res.headers.deprecation).toBeUndefined();
    });
  });

  describe('async (Prefer: respond-async)', () => {
    it('answers 202 with a pending prediction and a Location, which moves to success', async () => {
      const input = caseInput(linregFolder, 0);
      const res = await post(owner.accessToken, linreg.id, { input }).set('Prefer', 'respond-async, wait=5');
      expect(res.status).toBe(202);
      expect(res.headers['preference-applied']).toBe('respond-async');
      expect(res.headers.location).toBe(`/api/v1/predictions/${res.body.id}`);
      expect(res.body).toMatchObject({
        modelId: linreg.id,
        userId: owner.id,
        status: 'pending',
        input,
        output: null,
        inferenceTimeMs: null,
        errorMessage: null,
      });
      const done = await waitForOutcome(t, owner.accessToken, res.body.id);
      expect(done.status).toBe('success');
      expect(Number.isInteger(done.inferenceTimeMs)).toBe(true);
      expect(compareOutputs(linregFolder, 0, done.output as Record<string, unknown>)).toEqual([]);
      expect(done.createdAt).toBe(res.body.createdAt);
      expect(await predictionRow(t, res.body.id)).toMatchObject({ status: 'success', error_message: null });
    });

    it('a queued input that the engine refuses moves to failed with the reason', async () => {
      const res = await post(owner.accessToken, mixed.id, {
        input: { input1: [[1], [2]], input2: [[0.5]] },
      }).set('Prefer', 'respond-async');
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('pending');
      const done = await waitForOutcome(t, owner.accessToken, res.body.id);
      expect(done).toMatchObject({ status: 'failed', output: null, inferenceTimeMs: null });
      expect(done.errorMessage).toMatch(/same number of rows/);
      expect(await predictionRow(t, res.body.id)).toMatchObject({ status: 'failed' });
    });

    it('an input that fails the schema is refused at once (400) and recorded, even when async is asked for', async () => {
      const before = await predictionRows(t, owner.id, linreg.id);
      const res = await post(owner.accessToken, linreg.id, { input: [[1, 2]] }).set(
        'Prefer',
        'respond-async',
      );
      expectErrorShape(res.body, 400, 'INVALID_INPUT');
      const after = await predictionRows(t, owner.id, linreg.id);
      expect(after).toHaveLength(before.length + 1);
      expect(after[0].status).toBe('failed');
    });

    it('a deprecated model answers 202 with the Deprecation header too', async () => {
      const model = await uploadOk(t, owner.accessToken, linregFolder, { name: 'deprecated-async' });
      await t
        .http()
        .patch(`/api/v1/models/${model.id}`)
        .set('Authorization', `Bearer ${owner.accessToken}`)
        .send({ status: 'deprecated' })
        .expect(200);
      const res = await post(owner.accessToken, model.id, { input: [[1, 2, 3, 4]] }).set(
        'Prefer',
        'respond-async',
      );
      expect(res.status).toBe(202);
      expect(res.headers.deprecation).toBe('true');
      expect((await waitForOutcome(t, owner.accessToken, res.body.id)).status).toBe('success');
    });
  });

  describe('reading and listing', () => {
    let reader: RegisteredUser;
    let model: UploadedModel;
    const made: Array<{ id: string; status: string; createdAt: string }> = [];

    beforeAll(async () => {
      reader = await registerUser(t, 'reader');
      model = await uploadOk(t, reader.accessToken, linregFolder, { name: 'listing' });
      // 5 successes and 2 failures, in order.
      const inputs = [
        [[1, 2, 3, 4]],
        [[1, 2]],
        [[2, 3, 4, 5]],
        [[3, 4, 5, 6]],
        [['x', 1, 2, 3]],
        [[4, 5, 6, 7]],
        [[5, 6, 7, 8]],
      ];
      for (const input of inputs) {
        const res = await post(reader.accessToken, model.id, { input });
        const id =
          res.status === 201 ? (res.body.id as string) : (await predictionRows(t, reader.id, model.id))[0].id;
        const row = await predictionRow(t, id);
        made.push({ id, status: row!.status, createdAt: new Date(row!.created_at).toISOString() });
      }
      made.reverse(); // newest first, as the API lists them
    });

    it("GET /predictions lists the caller's own, newest first, across pages with a cursor", async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await get(
          reader.accessToken,
          `/predictions?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.body.items.map((p: { id: string }) => p.id));
        cursor = page.body.nextCursor as string | null;
      } while (cursor);
      expect(seen).toEqual(made.map((p) => p.id));
    });

    it('filters by status and modelId', async () => {
      const failed = await get(reader.accessToken, '/predictions?status=failed');
      expect(failed.body.items.map((p: { id: string }) => p.id)).toEqual(
        made.filter((p) => p.status === 'failed').map((p) => p.id),
      );
      expect(failed.body.items.every((p: { errorMessage: string }) => p.errorMessage.length > 0)).toBe(true);
      const onModel = await get(
        reader.accessToken,
        `/predictions?modelId=${model.id}&status=success&limit=100`,
      );
      expect(onModel.body.items).toHaveLength(5);
      const onOther = await get(reader.accessToken, `/predictions?modelId=${linreg.id}`);
      expect(onOther.body).toEqual({ items: [], nextCursor: null });
    });

    it('filters by from (inclusive) and to (exclusive)', async () => {
      const oldestFirst = [...made].reverse();
      const third = oldestFirst[2];
      const from = await get(
        reader.accessToken,
        `/predictions?from=${encodeURIComponent(third.createdAt)}&limit=100`,
      );
      expect(from.body.items.map((p: { id: string }) => p.id)).toEqual(
        made.filter((p) => p.createdAt >= third.createdAt).map((p) => p.id),
      );
      const to = await get(
        reader.accessToken,
        `/predictions?to=${encodeURIComponent(third.createdAt)}&limit=100`,
      );
      expect(to.body.items.map((p: { id: string }) => p.id)).toEqual(
        made.filter((p) => p.createdAt < third.createdAt).map((p) => p.id),
      );
      const none = await get(
        reader.accessToken,
        '/predictions?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z',
      );
      expect(none.body.items).toEqual([]);
      const day = new Date(third.createdAt).toISOString().slice(0, 10);
      const dateOnly = await get(reader.accessToken, `/predictions?from=${day}`);
      expect(dateOnly.status).toBe(200);
    });

    it.each([
      ['from=yesterday', 'from'],
      ['to=2026-13-45', 'to'],
      ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'from must not be after to'],
      ['status=done', 'status'],
      ['modelId=nope', 'modelId'],
      ['limit=0', 'limit'],
      ['cursor=garbage', 'cursor'],
      ['unknown=1', 'unknown'],
    ])('refuses %s with 400', async (query, mention) => {
      const res = await get(reader.accessToken, `/predictions?${query}`);
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toContain(mention);
    });

    it('GET /predictions/{id}: own ones; others are 404; a bad id is 400', async () => {
      const mine = await get(reader.accessToken, `/predictions/${made[0].id}`);
      expect(mine.status).toBe(200);
      expect(mine.body).toMatchObject({ id: made[0].id, modelId: model.id, userId: reader.id });
      expectErrorShape((await get(other.accessToken, `/predictions/${made[0].id}`)).body, 404, 'NOT_FOUND');
      expectErrorShape(
        (await get(reader.accessToken, '/predictions/00000000-0000-4000-8000-000000000000')).body,
        404,
      );
      expectErrorShape((await get(reader.accessToken, '/predictions/xyz')).body, 400, 'VALIDATION_FAILED');
    });

    it('the model owner sees predictions others made on their model; a use-share holder sees only their own', async () => {
      const sharer = await registerUser(t, 'sharer');
      const stranger = await registerUser(t, 'stranger');
      await t.orm.em
        .getConnection()
        .execute(
          `insert into model_shares (model_id, owner_id, shared_with_user_id, permission) values (?, ?, ?, 'use')`,
          [model.id, reader.id, sharer.id],
        );
      const theirs = await post(sharer.accessToken, model.id, { input: [[9, 9, 9, 9]] });
      expect(theirs.status).toBe(201);
      expect(theirs.body.userId).toBe(sharer.id);

      // Owner: everything on the model, the share holder's included.
      const ownerView = await get(reader.accessToken, `/models/${model.id}/predictions?limit=100`);
      expect(ownerView.status).toBe(200);
      expect(ownerView.body.items.map((p: { id: string }) => p.id)).toEqual([
        theirs.body.id,
        ...made.map((p) => p.id),
      ]);
      expect((await get(reader.accessToken, `/predictions/${theirs.body.id}`)).status).toBe(200);
      // ...but GET /predictions stays the caller's own.
      const ownerOwn = await get(reader.accessToken, '/predictions?limit=100');
      expect(ownerOwn.body.items.map((p: { id: string }) => p.id)).not.toContain(theirs.body.id);

      // Share holder: only their own, on the model and by id.
      const sharerView = await get(sharer.accessToken, `/models/${model.id}/predictions`);
      expect(sharerView.body.items.map((p: { id: string }) => p.id)).toEqual([theirs.body.id]);
      expectErrorShape((await get(sharer.accessToken, `/predictions/${made[0].id}`)).body, 404, 'NOT_FOUND');
      expect((await get(sharer.accessToken, `/predictions/${theirs.body.id}`)).status).toBe(200);

      // Status filter on the model list.
      const failedOnModel = await get(reader.accessToken, `/models/${model.id}/predictions?status=failed`);
      expect(failedOnModel.body.items).toHaveLength(2);

      // Anyone else: the model is not there.
      expectErrorShape(
        (await get(stranger.accessToken, `/models/${model.id}/predictions`)).body,
        404,
        'NOT_FOUND',
      );
      expectErrorShape(
        (await get(stranger.accessToken, `/predictions/${theirs.body.id}`)).body,
        404,
        'NOT_FOUND',
      );
    });

    it('a view-only share may not predict (403) and records nothing', async () => {
      const viewer = await registerUser(t, 'viewer');
      await t.orm.em
        .getConnection()
        .execute(
          `insert into model_shares (model_id, owner_id, shared_with_user_id, permission) values (?, ?, ?, 'view')`,
          [model.id, reader.id, viewer.id],
        );
      const res = await post(viewer.accessToken, model.id, { input: [[1, 2, 3, 4]] });
      expectErrorShape(res.body, 403, 'INSUFFICIENT_PERMISSION');
      expect(await predictionRows(t, viewer.id, model.id)).toHaveLength(0);
    });

    it('an admin may read any prediction', async () => {
      const admin = await registerUser(t, 'admin');
      await t.orm.em.getConnection().execute('update users set is_admin = true where id = ?', [admin.id]);
      expect((await get(admin.accessToken, `/predictions/${made[0].id}`)).status).toBe(200);
      const all = await get(admin.accessToken, `/models/${model.id}/predictions?limit=100`);
      expect(all.body.items.length).toBeGreaterThanOrEqual(made.length);
    });
  });
});
