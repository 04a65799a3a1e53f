import { loadModelFolder } from '../../src/inference/testing/model-cases';
import { createTestApp, registerUser, RegisteredUser, TestApp } from '../support/test-app';
import { caseInput, compareOutputs, FIXTURES_DIR, predictionRow, uploadOk } from './prediction-helpers';

/** Each fixture model, uploaded and run through HTTP with its cases, compared with the exporting framework's outputs. */
const FIXTURES = [
  'skl-linreg',
  'skl-logreg-zipmap',
  'skl-rf-strlabel',
  'skl-labelenc-str',
  'skl-pipeline-mixed',
  'tf-keras-mlp9',
  'pt-mnist-mlp',
  'pt-tiny-multiio',
];

describe('predictions on the fixture models (e2e)', () => {
  let t: TestApp;
  let user: RegisteredUser;
  beforeAll(async () => {
    t = await createTestApp();
    user = await registerUser(t, 'fixtures');
  });
  afterAll(async () => {
    await t.close();
  });

  describe.each(FIXTURES)('%s', (name) => {
    const folder = loadModelFolder(FIXTURES_DIR, name);

    it.each(folder.cases.cases.map((c, i) => [c.set, i] as const))(
      'uploads and gives the expected outputs for %s, recorded as success',
      async (_set, caseIndex) => {
        const model = await uploadOk(t, user.accessToken, folder);
        const input = caseInput(folder, caseIndex);
        const res = await t
          .http()
          .post(`/api/v1/models/${model.id}/predictions`)
          .set('Authorization', `Bearer ${user.accessToken}`)
          .send({ input });
        expect(res.status).toBe(201);
        expect(res.headers.deprecation).toBeUndefined();
        expect(res.body).toEqual({
          id: expect.any(String),
          modelId: model.id,
          userId: user.id,
          status: 'success',
          input,
          output: expect.any(Object),
          inferenceTimeMs: expect.any(Number),
          errorMessage: null,
          createdAt: expect.any(String),
        });
        expect(Number.isInteger(res.body.inferenceTimeMs)).toBe(true);
        expect(res.body.inferenceTimeMs).toBeGreaterThanOrEqual(0);
        expect({ name, problems: compareOutputs(folder, caseIndex, res.body.output) }).toEqual({
          name,
          problems: [],
        });

        const row = await predictionRow(t, res.body.id);
        expect(row).toMatchObject({
          model_id: model.id,
          user_id: user.id,
          status: 'success',
          inference_time_ms: res.body.inferenceTimeMs,
          error_message: null,
        });
        expect(row?.input_data).toEqual(input);
        expect(row?.output_data).toEqual(res.body.output);
      },
    );
  });

  it('accepts a bare nested array for a one-input model and stores it as given', async () => {
    const folder = loadModelFolder(FIXTURES_DIR, 'skl-linreg');
    const model = await uploadOk(t, user.accessToken, folder, { name: 'bare-array' });
    const rows = (caseInput(folder, 0).input as number[][]).slice(0, 3);
    const res = await t
      .http()
      .post(`/api/v1/models/${model.id}/predictions`)
      .set('Authorization', `Bearer ${user.accessToken}`)
      .send({ input: rows });
    expect(res.status).toBe(201);
    expect(res.body.input).toEqual(rows);
    expect((res.body.output as { variable: number[][] }).variable).toHaveLength(3);
    expect((await predictionRow(t, res.body.id))?.input_data).toEqual(rows);
  });
});
