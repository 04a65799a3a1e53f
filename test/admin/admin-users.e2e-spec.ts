import {
  createTestApp,
  expectErrorShape,
  makeAdmin,
  registerUser,
  RegisteredUser,
  TestApp,
} from '../support/test-app';

jest.setTimeout(60_000);

interface UserBody {
  id: string;
  email: string;
  isActive: boolean;
  isAdmin: boolean;
  createdAt: string;
}

describe('admin of users (e2e)', () => {
  let t: TestApp;
  let admin: RegisteredUser;
  let plain: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({ env: { THROTTLE_AUTH_PER_MINUTE: '100000' } });
    admin = await registerUser(t, 'admin');
    await makeAdmin(t, admin.id);
    plain = await registerUser(t, 'plain');
  });
  afterAll(async () => {
    await t.close();
  });

  const list = (query: Record<string, string>, token = admin.accessToken) =>
    t.http().get('/api/v1/admin/users').query(query).set('Authorization', `Bearer ${token}`);
  const patch = (id: string, body: unknown, token = admin.accessToken) =>
    t
      .http()
      .patch(`/api/v1/admin/users/${id}`)
      .set('Authorization', `Bearer ${token}`)
      .send(body as object);
  const sql = (query: string, params: unknown[] = []) => t.orm.em.getConnection().execute(query, params);

  describe('permissions', () => {
    it('refuses non-admins with 403 on both routes', async () => {
      expectErrorShape((await list({}, plain.accessToken)).body, 403, 'ADMIN_ONLY');
      expectErrorShape(
        (await patch(admin.id, { isAdmin: false }, plain.accessToken)).body,
        403,
        'ADMIN_ONLY',
      );
      const rows = await sql('select is_admin from users where id = ?', [admin.id]);
      expect(rows[0].is_admin).toBe(true);
    });

    it('refuses anonymous callers with 401', async () => {
      expectErrorShape((await t.http().get('/api/v1/admin/users')).body, 401, 'UNAUTHENTICATED');
    });
  });

  describe('GET /admin/users', () => {
    it('lists users newest first with the public user shape', async () => {
      const res = await list({});
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      const items = res.body.items as UserBody[];
      expect(items.map((u) => u.id)).toEqual(expect.arrayContaining([admin.id, plain.id]));
      const times = items.map((u) => Date.parse(u.createdAt));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      expect(JSON.stringify(res.body)).not.toMatch(/hashed|argon/i);
    });

    it('filters by part of the e-mail (case-insensitive, wildcards taken literally), isActive and isAdmin', async () => {
      const marker = `flt${Date.now().toString(36)}`;
      const a = await registerUser(t, `${marker}-a`);
      const b = await registerUser(t, `${marker}-b`);
      const c = await registerUser(t, `${marker}-c`);
      await sql('update users set is_active = false where id = ?', [b.id]);
      await sql('update users set is_admin = true where id = ?', [c.id]);

      const ids = async (query: Record<string, string>) =>
        ((await list(query)).body.items as UserBody[]).map((u) => u.id).sort();
      expect(await ids({ email: marker.toUpperCase() })).toEqual([a.id, b.id, c.id].sort());
      expect(await ids({ email: marker, isActive: 'false' })).toEqual([b.id]);
      expect(await ids({ email: marker, isActive: 'true' })).toEqual([a.id, c.id].sort());
      expect(await ids({ email: marker, isAdmin: 'true' })).toEqual([c.id]);
      expect(await ids({ email: marker, isAdmin: 'false', isActive: 'true' })).toEqual([a.id]);
      expect(await ids({ email: `${marker}%` })).toEqual([]);
      expect(await ids({ email: '_' })).toEqual([]);
    });

    it('paginates with limit, cursor and nextCursor without gaps or repeats', async () => {
      const marker = `pg${Date.now().toString(36)}`;
      const created: string[] = [];
      for (let i = 0; i < 5; i += 1) created.push((await registerUser(t, `${marker}-${i}`)).id);
      const seen: string[] = [];
      let cursor: string | null = null;
      const sizes: number[] = [];
      do {
        const query: Record<string, string> = { email: marker, limit: '2' };
        if (cursor) query.cursor = cursor;
        const res = await list(query);
        expect(res.status).toBe(200);
        sizes.push(res.body.items.length);
        seen.push(...(res.body.items as UserBody[]).map((u) => u.id));
        cursor = res.body.nextCursor as string | null;
      } while (cursor);
      expect(sizes).toEqual([2, 2, 1]);
      expect(seen).toEqual([...created].reverse());
    });

    it.each([
      ['a bad cursor', { cursor: 'not-a-cursor' }, /cursor/],
      ['limit 0', { limit: '0' }, /limit/],
      ['limit 101', { limit: '101' }, /limit/],
      ['a non-numeric limit', { limit: 'ten' }, /limit/],
      ['a non-boolean isActive', { isActive: 'maybe' }, /isActive/],
      ['a non-boolean isAdmin', { isAdmin: '1' }, /isAdmin/],
      ['an unknown parameter', { role: 'admin' }, /role/],
    ])('refuses %s with 400', async (_label, query, field) => {
      const res = await list(query);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toMatch(field);
    });
  });

  describe('PATCH /admin/users/{id}', () => {
    it('promotes and demotes a user', async () => {
      const u = await registerUser(t, 'promote');
      const up = await patch(u.id, { isAdmin: true });
      expect(up.status).toBe(200);
      expect(up.body).toEqual(expect.objectContaining({ id: u.id, isAdmin: true, isActive: true }));
      expect((await list({}, u.accessToken)).status).toBe(200);
      const down = await patch(u.id, { isAdmin: false });
      expect(down.body.isAdmin).toBe(false);
      expect((await list({}, u.accessToken)).status).toBe(403);
    });

    it('deactivating a user makes their token 401 on the next request; re-activating restores it', async () => {
      const u = await registerUser(t, 'deactivate');
      expect(
        (await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${u.accessToken}`)).status,
      ).toBe(200);
      const res = await patch(u.id, { isActive: false });
      expect(res.status).toBe(200);
      expect(res.body.isActive).toBe(false);
      const after = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${u.accessToken}`);
      expect(after.status).toBe(401);
      expectErrorShape(after.body, 401, 'USER_INACTIVE');
      expectErrorShape(
        (await t.http().post('/api/v1/auth/refresh').send({ refreshToken: u.refreshToken })).body,
        401,
        'USER_INACTIVE',
      );
      expect((await patch(u.id, { isActive: true })).status).toBe(200);
      expect(
        (await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${u.accessToken}`)).status,
      ).toBe(200);
    });

    it('answers an unknown id with 404 and a non-uuid with 400', async () => {
      expectErrorShape(
        (await patch('00000000-0000-4000-8000-000000000000', { isActive: false })).body,
        404,
        'NOT_FOUND',
      );
      expectErrorShape((await patch('not-a-uuid', { isActive: false })).body, 400, 'VALIDATION_FAILED');
    });

    it.each([
      ['a non-boolean isActive', { isActive: 'no' }, /isActive/],
      ['a null isActive', { isActive: null }, /isActive/],
      ['a null isAdmin', { isAdmin: null }, /isAdmin/],
      ['an unknown field', { email: 'x@example.com' }, /email/],
    ])('refuses %s with 400', async (_label, body, field) => {
      const res = await patch(plain.id, body);
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toMatch(field);
    });

    it('never demotes or deactivates the last active admin (409), even itself', async () => {
      // make `admin` the only active admin of this database
      await sql('update users set is_admin = false where id <> ?', [admin.id]);
      for (const body of [{ isAdmin: false }, { isActive: false }, { isAdmin: false, isActive: false }]) {
        const res = await patch(admin.id, body);
        expect(res.status).toBe(409);
        expectErrorShape(res.body, 409, 'LAST_ADMIN');
      }
      const rows = await sql('select is_admin, is_active from users where id = ?', [admin.id]);
      expect(rows[0]).toEqual({ is_admin: true, is_active: true });
      // an inactive admin does not count as another admin
      const dormant = await registerUser(t, 'dormant-admin');
      await sql('update users set is_admin = true, is_active = false where id = ?', [dormant.id]);
      expectErrorShape((await patch(admin.id, { isAdmin: false })).body, 409, 'LAST_ADMIN');
      // with a second active admin, one of them can step down
      const second = await registerUser(t, 'second-admin');
      await makeAdmin(t, second.id);
      const res = await patch(second.id, { isAdmin: false });
      expect(res.status).toBe(200);
      expect(res.body.isAdmin).toBe(false);
    });

    it('lets only one of two admins demoting each other at once succeed', async () => {
      await sql('update users set is_admin = false where id <> ?', [admin.id]);
      const other = await registerUser(t, 'rival-admin');
      await makeAdmin(t, other.id);
      const results = await Promise.all([
        patch(other.id, { isAdmin: false }),
        patch(admin.id, { isAdmin: false }, other.accessToken),
      ]);
      // the loser gets 409 from the locked check, or 403 if the winner committed before its guard ran
      const statuses = results.map((r) => r.status).sort();
      expect(statuses[0]).toBe(200);
      expect([403, 409]).toContain(statuses[1]);
      const rows = await sql('select count(*)::int as n from users where is_admin and is_active');
      expect(rows[0].n).toBe(1);
      // restore `admin` as the admin for any later test
      await sql('update users set is_admin = (id = ?)', [admin.id]);
    });
  });
});
