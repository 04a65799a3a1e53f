import { loadModelFolder } from '../../src/inference/testing/model-cases';
import { createTestApp, expectErrorShape, registerUser, RegisteredUser, TestApp } from '../support/test-app';
import { FIXTURES_DIR, predictionRows, uploadOk, UploadedModel } from './prediction-helpers';

/**
 * The configurable limits, through HTTP, on an app with small ones: request body (MAX_JSON_BODY_BYTES), elements
 * per input (MAX_INPUT_ELEMENTS) — both 413 with a message — and the inference timeout (INFERENCE_TIMEOUT_MS) — 504.
 */
const BODY_LIMIT = 64 * 1024;
const ELEMENT_LIMIT = 5000;

describe('prediction limits (e2e)', () => {
  let t: TestApp;
  let user: RegisteredUser;
  /** skl-linreg: float32 [1, 4], run row by row — every row is one engine run. */
  let linreg: UploadedModel;

  const rows = (n: number) => Array.from({ length: n }, (_, i) => [i % 7, 0.5, 1.5, 2.5]);
  const post = (body: unknown) =>
    t
      .http()
      .post(`/api/v1/models/${linreg.id}/predictions`)
      .set('Authorization', `Bearer ${user.accessToken}`)
      .send(body as object);

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        MAX_JSON_BODY_BYTES: String(BODY_LIMIT),
        MAX_INPUT_ELEMENTS: String(ELEMENT_LIMIT),
        INFERENCE_TIMEOUT_MS: '1',
      },
    });
    user = await registerUser(t, 'limits');
    linreg = await uploadOk(t, user.accessToken, loadModelFolder(FIXTURES_DIR, 'skl-linreg'));
  });
  afterAll(async () => {
    await t.close();
  });

  it('a body over the JSON limit is 413 with a message, and records nothing (it never reached the model)', async () => {
    const big = { input: Array.from({ length: 4000 }, () => [1.123456, 2.123456, 3.123456, 4.123456]) };
    expect(JSON.stringify(big).length).toBeGreaterThan(BODY_LIMIT);
    const res = await post(big);
    expectErrorShape(res.body, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.body.message).toMatch(/larger than/);
    expect(await predictionRows(t, user.id, linreg.id)).toHaveLength(0);
  });

  it('an input with more elements than the limit is 413 with a message, and a failed row is recorded', async () => {
    const input = rows(ELEMENT_LIMIT / 4 + 1); // 5004 elements, ~30 KB: under the body limit
    expect(JSON.stringify({ input }).length).toBeLessThan(BODY_LIMIT);
    const res = await post({ input });
    expectErrorShape(res.body, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.body.message).toMatch(new RegExp(`more than ${ELEMENT_LIMIT} elements`));
    const [row] = await predictionRows(t, user.id, linreg.id);
    expect(row).toMatchObject({ status: 'failed', error_message: res.body.message, output_data: null });
    expect(row.input_data).toEqual(input);
  });

  it('inference over the timeout is 504 and a failed row is recorded (an input at the element limit passes it)', async () => {
    // 1250 rows = exactly 5000 elements: allowed; 1250 engine runs take far more than 1 ms.
    const input = rows(ELEMENT_LIMIT / 4);
    const before = await predictionRows(t, user.id, linreg.id);
    const res = await post({ input });
    expectErrorShape(res.body, 504, 'INFERENCE_TIMEOUT');
    expect(res.body.message).toMatch(/longer than 1 ms/);
    const after = await predictionRows(t, user.id, linreg.id);
    expect(after).toHaveLength(before.length + 1);
    expect(after[0]).toMatchObject({
      status: 'failed',
      error_message: res.body.message,
      inference_time_ms: null,
    });
  });

  it('a queued prediction over the timeout moves to failed', async () => {
    const res = await post({ input: rows(ELEMENT_LIMIT / 4) }).set('Prefer', 'respond-async');
    expect(res.status).toBe(202);
    const deadline = Date.now() + 20_000;
    let body = res.body as { status: string; errorMessage: string | null };
    while (body.status === 'pending' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      body = (
        await t
          .http()
          .get(`/api/v1/predictions/${res.body.id}`)
          .set('Authorization', `Bearer ${user.accessToken}`)
      ).body;
    }
    expect(body).toMatchObject({ status: 'failed', errorMessage: expect.stringMatching(/longer than 1 ms/) });
  });
});
