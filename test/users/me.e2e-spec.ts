import { createTestApp, expectErrorShape, registerUser, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

describe('/users/me and password change (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { THROTTLE_AUTH_PER_MINUTE: '100000' } });
  });
  afterAll(async () => {
    await t.close();
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  describe('GET/PATCH /users/me', () => {
    it('returns the signed-in user without the password hash', async () => {
      const u = await registerUser(t, 'me');
      const res = await t.http().get('/api/v1/users/me').set(bearer(u.accessToken));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(
        expect.objectContaining({
          id: u.id,
          email: u.email,
          fullName: 'Test me',
          avatarUrl: null,
          oauthProvider: null,
          isAdmin: false,
        }),
      );
      expect(Object.keys(res.body)).not.toContain('hashedPassword');
    });

    it('changes fullName (trimmed) and avatarUrl, and clears the avatar with null', async () => {
      const u = await registerUser(t, 'patch');
      const res = await t
        .http()
        .patch('/api/v1/users/me')
        .set(bearer(u.accessToken))
        .send({ fullName: '  Grace Hopper ', avatarUrl: 'https://img.example.com/grace.png' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(
        expect.objectContaining({ fullName: 'Grace Hopper', avatarUrl: 'https://img.example.com/grace.png' }),
      );
      const again = await t.http().get('/api/v1/users/me').set(bearer(u.accessToken));
      expect(again.body).toEqual(
        expect.objectContaining({ fullName: 'Grace Hopper', avatarUrl: 'https://img.example.com/grace.png' }),
      );

      const onlyName = await t
        .http()
        .patch('/api/v1/users/me')
        .set(bearer(u.accessToken))
        .send({ fullName: 'G. Hopper' });
      expect(onlyName.body).toEqual(
        expect.objectContaining({ fullName: 'G. Hopper', avatarUrl: 'https://img.example.com/grace.png' }),
      );

      const cleared = await t
        .http()
        .patch('/api/v1/users/me')
        .set(bearer(u.accessToken))
        .send({ avatarUrl: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body.avatarUrl).toBeNull();
      const rows = await t.orm.em
        .getConnection()
        .execute('select full_name, avatar_url from users where id = ?', [u.id]);
      expect(rows[0]).toEqual({ full_name: 'G. Hopper', avatar_url: null });
    });

    it.each([
      ['a bad avatar URL', { avatarUrl: 'not a url' }, /avatarUrl/],
      ['a javascript: avatar URL', { avatarUrl: 'javascript:alert(1)' }, /avatarUrl/],
      ['an ftp avatar URL', { avatarUrl: 'ftp://example.com/a.png' }, /avatarUrl/],
      ['an empty fullName', { fullName: '   ' }, /fullName/],
      ['a too long fullName', { fullName: 'x'.repeat(201) }, /fullName/],
      ['a null fullName', { fullName: null }, /fullName/],
      ['an attempt to change the e-mail', { email: 'new@example.com' }, /email/],
      ['an attempt to become admin', { isAdmin: true }, /isAdmin/],
    ])('refuses %s with 400 and changes nothing', async (_label, body, field) => {
      const u = await registerUser(t, 'patch-bad');
      const res = await t.http().patch('/api/v1/users/me').set(bearer(u.accessToken)).send(body);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toMatch(field);
      const rows = await t.orm.em
        .getConnection()
        .execute('select full_name, avatar_url, is_admin, email from users where id = ?', [u.id]);
      expect(rows[0]).toEqual({
        full_name: 'Test patch-bad',
        avatar_url: null,
        is_admin: false,
        email: u.email,
      });
    });

    it('needs authentication', async () => {
      expectErrorShape(
        (await t.http().patch('/api/v1/users/me').send({ fullName: 'x' })).body,
        401,
        'UNAUTHENTICATED',
      );
    });
  });

  describe('POST /users/me/password', () => {
    it('needs the current password: a wrong one is 403 and changes nothing', async () => {
      const u = await registerUser(t, 'pw-wrong');
      const res = await t
        .http()
        .post('/api/v1/users/me/password')
        .set(bearer(u.accessToken))
        .send({ currentPassword: 'not my password', newPassword: 'a brand new password' });
      expect(res.status).toBe(403);
      expectErrorShape(res.body, 403, 'FORBIDDEN');
      expect(
        (await t.http().post('/api/v1/auth/login').send({ email: u.email, password: u.password })).status,
      ).toBe(200);
      expect((await t.http().get('/api/v1/users/me').set(bearer(u.accessToken))).status).toBe(200);
    });

    it('changes the password, signs out every older session, and the new password logs in', async () => {
      const u = await registerUser(t, 'pw-change');
      const otherSession = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: u.email, password: u.password });
      // tokens carry millisecond issue times; make sure the change is strictly later
      await new Promise((r) => setTimeout(r, 5));
      const res = await t
        .http()
        .post('/api/v1/users/me/password')
        .set(bearer(u.accessToken))
        .send({ currentPassword: u.password, newPassword: 'a brand new password' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(
        expect.objectContaining({ accessToken: expect.any(String), refreshToken: expect.any(String) }),
      );

      // old refresh and access tokens of both sessions stop working
      for (const refreshToken of [u.refreshToken, otherSession.body.refreshToken]) {
        expectErrorShape(
          (await t.http().post('/api/v1/auth/refresh').send({ refreshToken })).body,
          401,
          'INVALID_TOKEN',
        );
      }
      expectErrorShape(
        (await t.http().get('/api/v1/users/me').set(bearer(u.accessToken))).body,
        401,
        'INVALID_TOKEN',
      );
      // the pair handed back by the change works
      expect((await t.http().get('/api/v1/users/me').set(bearer(res.body.accessToken))).status).toBe(200);
      expect(
        (await t.http().post('/api/v1/auth/refresh').send({ refreshToken: res.body.refreshToken })).status,
      ).toBe(200);
      // the old password no longer logs in, the new one does
      expectErrorShape(
        (await t.http().post('/api/v1/auth/login').send({ email: u.email, password: u.password })).body,
        401,
        'INVALID_CREDENTIALS',
      );
      expect(
        (await t.http().post('/api/v1/auth/login').send({ email: u.email, password: 'a brand new password' }))
          .status,
      ).toBe(200);
    });

    it.each([
      ['a too short new password', { currentPassword: 'x', newPassword: 'short' }, /newPassword/],
      ['a too long new password', { currentPassword: 'x', newPassword: 'p'.repeat(257) }, /newPassword/],
      ['a missing current password', { newPassword: 'a brand new password' }, /currentPassword/],
      [
        'an unknown field',
        { currentPassword: 'x', newPassword: 'a brand new password', force: true },
        /force/,
      ],
    ])('refuses %s with 400', async (_label, body, field) => {
      const u = await registerUser(t, 'pw-bad');
      const res = await t.http().post('/api/v1/users/me/password').set(bearer(u.accessToken)).send(body);
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toMatch(field);
    });
  });
});
