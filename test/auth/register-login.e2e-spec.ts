import { JwtService } from '@nestjs/jwt';
import { createTestApp, expectErrorShape, registerUser, TestApp, uniqueEmail } from '../support/test-app';

jest.setTimeout(60_000);

const PASSWORD = 'correct horse battery staple';

describe('register, login, refresh and token checks (e2e)', () => {
  let t: TestApp;
  const jwt = new JwtService();
  beforeAll(async () => {
    t = await createTestApp({ env: { THROTTLE_AUTH_PER_MINUTE: '100000' } });
  });
  afterAll(async () => {
    await t.close();
  });

  const register = (body: Record<string, unknown>) => t.http().post('/api/v1/auth/register').send(body);
  const login = (body: Record<string, unknown>) => t.http().post('/api/v1/auth/login').send(body);
  const refresh = (refreshToken: unknown) => t.http().post('/api/v1/auth/refresh').send({ refreshToken });
  const getMe = (token: string) => t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`);

  describe('POST /auth/register', () => {
    it('answers 201 with a token pair and the user, without any password material', async () => {
      const email = uniqueEmail('shape');
      const res = await register({ email, password: PASSWORD, fullName: '  Ada Lovelace ' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: t.config.jwt.accessTtlSeconds,
        tokenType: 'Bearer',
        user: {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          email,
          fullName: 'Ada Lovelace',
          avatarUrl: null,
          oauthProvider: null,
          isActive: true,
          isAdmin: false,
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      });
      expect(JSON.stringify(res.body)).not.toMatch(/password|argon/i);
      expect((await getMe(res.body.accessToken)).body.id).toBe(res.body.user.id);
    });

    it('stores the e-mail trimmed and lower-cased, and a differently-cased duplicate is 409', async () => {
      const email = uniqueEmail('Case');
      const first = await register({
        email: `\t ${email.toUpperCase()}  `,
        password: PASSWORD,
        fullName: 'A',
      });
      expect(first.status).toBe(201);
      expect(first.body.user.email).toBe(email.toLowerCase());
      const dup = await register({ email: email.toLowerCase(), password: PASSWORD, fullName: 'B' });
      expect(dup.status).toBe(409);
      expectErrorShape(dup.body, 409, 'EMAIL_TAKEN');
    });

    it('gives exactly one 201 and one 409 for two simultaneous registrations of one e-mail', async () => {
      const email = uniqueEmail('race');
      const results = await Promise.all([
        register({ email, password: PASSWORD, fullName: 'A' }),
        register({ email, password: PASSWORD, fullName: 'B' }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      const rows = await t.orm.em
        .getConnection()
        .execute('select count(*)::int as n from users where email = ?', [email]);
      expect(rows[0].n).toBe(1);
    });

    it.each([
      ['an invalid e-mail', { email: 'not-an-email', password: PASSWORD, fullName: 'A' }, /email/],
      ['a missing e-mail', { password: PASSWORD, fullName: 'A' }, /email/],
      ['a 7-character password', { email: 'x@example.com', password: '1234567', fullName: 'A' }, /password/],
      [
        'a 257-character password',
        { email: 'x@example.com', password: 'p'.repeat(257), fullName: 'A' },
        /password/,
      ],
      ['a non-string password', { email: 'x@example.com', password: 12345678, fullName: 'A' }, /password/],
      ['a missing fullName', { email: 'x@example.com', password: PASSWORD }, /fullName/],
      [
        'an unknown field',
        { email: 'x@example.com', password: PASSWORD, fullName: 'A', isAdmin: true },
        /isAdmin/,
      ],
    ])('refuses %s with 400 naming the field', async (_label, body, field) => {
      const res = await register(body);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toMatch(field);
      const rows = await t.orm.em
        .getConnection()
        .execute("select count(*)::int as n from users where email = 'x@example.com'");
      expect(rows[0].n).toBe(0);
    });

    it('accepts passwords of exactly 8 and 256 characters', async () => {
      expect((await register({ email: uniqueEmail('p8'), password: '12345678', fullName: 'A' })).status).toBe(
        201,
      );
      expect(
        (await register({ email: uniqueEmail('p256'), password: 'p'.repeat(256), fullName: 'A' })).status,
      ).toBe(201);
    });
  });

  describe('POST /auth/login', () => {
    it('answers 200 with the same shape as register, for any casing of the e-mail', async () => {
      const u = await registerUser(t, 'login');
      const res = await login({ email: ` ${u.email.toUpperCase()} `, password: u.password });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(
        expect.objectContaining({
          accessToken: expect.any(String),
          refreshToken: expect.any(String),
          expiresIn: expect.any(Number),
          tokenType: 'Bearer',
          user: expect.objectContaining({ id: u.id, email: u.email }),
        }),
      );
      expect((await getMe(res.body.accessToken)).status).toBe(200);
    });

    it('gives byte-identical 401 bodies (apart from requestId) for a wrong password and an unknown e-mail', async () => {
      const u = await registerUser(t, 'same401');
      const wrong = await login({ email: u.email, password: 'wrong password!' }).set(
        'X-Request-Id',
        'same-id',
      );
      const unknown = await login({ email: uniqueEmail('nobody'), password: 'wrong password!' }).set(
        'X-Request-Id',
        'same-id',
      );
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expectErrorShape(wrong.body, 401, 'INVALID_CREDENTIALS');
      expect(wrong.text).toBe(unknown.text);
      expect(wrong.headers['content-length']).toBe(unknown.headers['content-length']);
    });

    it('refuses a deactivated user with 401', async () => {
      const u = await registerUser(t, 'inactive');
      await t.orm.em.getConnection().execute('update users set is_active = false where id = ?', [u.id]);
      const res = await login({ email: u.email, password: u.password });
      expect(res.status).toBe(401);
      expectErrorShape(res.body, 401, 'USER_INACTIVE');
    });

    it('refuses a password-less (OAuth-only) account with the same 401 as a wrong password', async () => {
      const email = uniqueEmail('oauth-only');
      await t.orm.em
        .getConnection()
        .execute(
          "insert into users (id, email, full_name, oauth_provider, oauth_id) values (gen_random_uuid(), ?, 'O', 'github', '77')",
          [email],
        );
      const res = await login({ email, password: 'anything-at-all' });
      expectErrorShape(res.body, 401, 'INVALID_CREDENTIALS');
    });

    it('refuses a malformed login body with 400', async () => {
      expectErrorShape((await login({ email: 'nope', password: 'x' })).body, 400, 'VALIDATION_FAILED');
      expectErrorShape(
        (await login({ email: uniqueEmail(), password: 'x', remember: true })).body,
        400,
        'VALIDATION_FAILED',
      );
    });
  });

  describe('POST /auth/refresh', () => {
    it('rotates: the new pair works, the used refresh token is refused, and its reuse ends the session', async () => {
      const u = await registerUser(t, 'rotate');
      const first = await refresh(u.refreshToken);
      expect(first.status).toBe(200);
      expect(first.body.refreshToken).not.toBe(u.refreshToken);
      expect(first.body.user.id).toBe(u.id);
      expect((await getMe(first.body.accessToken)).status).toBe(200);

      const second = await refresh(first.body.refreshToken);
      expect(second.status).toBe(200);

      const reused = await refresh(u.refreshToken);
      expect(reused.status).toBe(401);
      expectErrorShape(reused.body, 401, 'INVALID_TOKEN');
      // a reused token revokes its whole family: the newest refresh token dies too
      expectErrorShape((await refresh(second.body.refreshToken)).body, 401, 'INVALID_TOKEN');
    });

    it('lets only one of two simultaneous uses of a refresh token succeed', async () => {
      const u = await registerUser(t, 'rotate-race');
      const results = await Promise.all([refresh(u.refreshToken), refresh(u.refreshToken)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    });

    it('refuses an access token as a refresh token, and garbage', async () => {
      const u = await registerUser(t, 'wrong-kind');
      expectErrorShape((await refresh(u.accessToken)).body, 401, 'INVALID_TOKEN');
      expectErrorShape((await refresh('garbage')).body, 401, 'INVALID_TOKEN');
      expectErrorShape((await refresh(12)).body, 400, 'VALIDATION_FAILED');
    });

    it('refuses the refresh token of a deactivated user', async () => {
      const u = await registerUser(t, 'refresh-inactive');
      await t.orm.em.getConnection().execute('update users set is_active = false where id = ?', [u.id]);
      expectErrorShape((await refresh(u.refreshToken)).body, 401, 'USER_INACTIVE');
    });
  });

  describe('access tokens on protected routes', () => {
    let u: Awaited<ReturnType<typeof registerUser>>;
    beforeAll(async () => {
      u = await registerUser(t, 'jwt');
    });

    it('accepts the real access token', async () => {
      expect((await getMe(u.accessToken)).status).toBe(200);
    });

    it('refuses no credentials with 401', async () => {
      expectErrorShape((await t.http().get('/api/v1/users/me')).body, 401, 'UNAUTHENTICATED');
    });

    it.each([
      ['garbage', () => 'garbage'],
      ['a three-part garbage token', () => 'aaa.bbb.ccc'],
      ['a refresh token', () => u.refreshToken],
      [
        'an expired token',
        () =>
          jwt.sign(
            { sub: u.id, typ: 'access', exp: Math.floor(Date.now() / 1000) - 60 },
            { secret: t.config.jwt.secret },
          ),
      ],
      [
        'a token signed with another secret',
        () => jwt.sign({ sub: u.id, typ: 'access' }, { secret: 'x'.repeat(40), expiresIn: 600 }),
      ],
      [
        'a token signed with the refresh secret',
        () => jwt.sign({ sub: u.id, typ: 'access' }, { secret: t.config.jwt.refreshSecret, expiresIn: 600 }),
      ],
      [
        'an unsigned (alg none) token',
        () =>
          `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
            JSON.stringify({ sub: u.id, typ: 'access', exp: Math.floor(Date.now() / 1000) + 600 }),
          ).toString('base64url')}.`,
      ],
      [
        'a valid token for a user that does not exist',
        () =>
          jwt.sign(
            { sub: '00000000-0000-4000-8000-000000000000', typ: 'access' },
            { secret: t.config.jwt.secret, expiresIn: 600 },
          ),
      ],
    ])('refuses %s with 401', async (_label, token) => {
      const res = await getMe(token());
      expect(res.status).toBe(401);
      expectErrorShape(res.body, 401);
    });

    it('accepts a token signed here with the right secret (the expired case above fails only because of exp)', async () => {
      const token = jwt.sign(
        { sub: u.id, typ: 'access', ims: Date.now() },
        { secret: t.config.jwt.secret, expiresIn: 600 },
      );
      expect((await getMe(token)).status).toBe(200);
    });
  });
});
