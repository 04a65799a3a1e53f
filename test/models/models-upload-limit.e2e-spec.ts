import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createTestApp, expectErrorShape, registerUser, RegisteredUser, TestApp } from '../support/test-app';

// Booting an app with its own database takes a while on a busy machine.
jest.setTimeout(120_000);

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'models');
const LIMIT = 4096;

describe('models upload limit (e2e)', () => {
  let t: TestApp;
  let u: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({ env: { MAX_UPLOAD_BYTES: String(LIMIT) } });
    u = await registerUser(t, 'limited');
  });
  afterAll(async () => {
    await t.close();
  });

  const upload = (bytes: Buffer, name: string) =>
    t
      .http()
      .post('/api/v1/models')
      .set('Authorization', `Bearer ${u.accessToken}`)
      .field('name', name)
      .attach('file', bytes, 'model.onnx');

  it('refuses a file over MAX_UPLOAD_BYTES with 413, leaving no row and no file', async () => {
    const bytes = readFileSync(path.join(FIXTURES, 'pt-tiny-multiio', 'model.onnx'));
    expect(bytes.length).toBeGreaterThan(LIMIT);
    const res = await upload(bytes, 'too-big');
    expectErrorShape(res.body, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.body.message).toContain(String(LIMIT));
    const rows = await t.orm.em.getConnection().execute('select id from models');
    expect(rows).toHaveLength(0);
    expect(readdirSync(t.config.storageDir, { recursive: true })).toEqual([]);
  });

  it('accepts a file under the limit', async () => {
    const bytes = readFileSync(path.join(FIXTURES, 'skl-linreg', 'model.onnx'));
    expect(bytes.length).toBeLessThan(LIMIT);
    const res = await upload(bytes, 'small');
    expect(res.status).toBe(201);
    expect(res.body.fileSize).toBe(bytes.length);
  });
});
