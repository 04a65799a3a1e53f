import { createTestApp, expectErrorShape, registerUser, TestApp, uniqueEmail } from '../support/test-app';

describe('auth (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('registers with a trimmed, lower-cased e-mail and never returns the password hash', async () => {
    const email = uniqueEmail('Mixed');
    const res = await t
      .http()
      .post('/api/v1/auth/register')
      .send({ email: `  ${email.toUpperCase()} `, password: 'hunter2hunter2', fullName: 'Ada' });
    expect(res.status).toBe(201);
    expect(res.body.user.email).toBe(email.toLowerCase());
    expect(res.body.accessToken).toEqual(expect.any(String));
    expect(res.body.refreshToken).toEqual(expect.any(String));
    expect(JSON.stringify(res.body)).not.toMatch(/hashed|argon2/i);
    const rows = await t.orm.em
      .getConnection()
      .execute('select hashed_password from users where email = ?', [email.toLowerCase()]);
    expect(rows[0].hashed_password).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  });

  it('refuses a duplicate e-mail with 409', async () => {
    const u = await registerUser(t);
    const res = await t
      .http()
      .post('/api/v1/auth/register')
      .send({ email: u.email, password: 'another-password', fullName: 'B' });
    expectErrorShape(res.body, 409, 'EMAIL_TAKEN');
  });

  it('serves /users/me with the access token', async () => {
    const u = await registerUser(t);
    const res = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${u.accessToken}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(u.id);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('answers an unknown route with 404 in the shared shape', async () => {
    const res = await t.http().get('/api/v1/nope').set('X-Request-Id', 'abc-123');
    expectErrorShape(res.body, 404, 'ROUTE_NOT_FOUND');
    expect(res.body.requestId).toBe('abc-123');
  });

  it('answers malformed JSON with 400', async () => {
    const res = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send('{"email": ');
    expectErrorShape(res.body, 400, 'MALFORMED_JSON');
  });

  it('is ready when Postgres and Redis answer', async () => {
    const res = await t.http().get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
  });
});
