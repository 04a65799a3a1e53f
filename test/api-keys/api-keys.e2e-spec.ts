import { createHash } from 'node:crypto';
import {
  createTestApp,
  expectErrorShape,
  makeAdmin,
  registerUser,
  RegisteredUser,
  TestApp,
} from '../support/test-app';

// Creating 50+ keys over HTTP takes a while on a busy machine.
jest.setTimeout(60_000);

interface CreatedKey {
  id: string;
  name: string;
  key: string;
  prefix: string;
  expiresAt: string | null;
  createdAt: string;
}

async function createKey(
  t: TestApp,
  user: RegisteredUser,
  body: Record<string, unknown> = { name: 'ci' },
): Promise<CreatedKey> {
  const res = await t
    .http()
    .post('/api/v1/api-keys')
    .set('Authorization', `Bearer ${user.accessToken}`)
    .send(body);
  if (res.status !== 201) throw new Error(`create key failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as CreatedKey;
}

/** Every character of a response a client could see: status line aside, headers and body. */
function visible(res: { headers: Record<string, unknown>; text?: string; body?: unknown }): string {
  return JSON.stringify(res.headers) + (res.text ?? JSON.stringify(res.body ?? ''));
}

describe('API keys (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  describe('creating', () => {
    it('returns the key once, in the documented format, and stores only its SHA-256', async () => {
      const u = await registerUser(t);
      const res = await t
        .http()
        .post('/api/v1/api-keys')
        .set('Authorization', `Bearer ${u.accessToken}`)
        .send({ name: '  deploy bot  ' });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'key', 'name', 'prefix']);
      const body = res.body as CreatedKey;
      expect(body.name).toBe('deploy bot');
      expect(body.key).toMatch(/^mp_[0-9A-Za-z]{38}$/);
      expect(body.prefix).toBe(body.key.slice(0, 10));
      expect(body.expiresAt).toBeNull();

      const rows = await t.orm.em.getConnection().execute('select * from api_keys where id = ?', [body.id]);
      expect(rows).toHaveLength(1);
      expect(rows[0].key_hash).toBe(createHash('sha256').update(body.key).digest('hex'));
      expect(rows[0].prefix).toBe(body.prefix);
      expect(rows[0].user_id).toBe(u.id);
      expect(JSON.stringify(rows[0])).not.toContain(body.key);
      expect(JSON.stringify(rows[0])).not.toContain(body.key.slice(10));
    });

    it('makes a different key every time', async () => {
      const u = await registerUser(t);
      const keys = new Set<string>();
      for (let i = 0; i < 5; i++) keys.add((await createKey(t, u)).key);
      expect(keys.size).toBe(5);
    });

    it('accepts a future expiresAt and refuses a past or malformed one with 400', async () => {
      const u = await registerUser(t);
      const future = new Date(Date.now() + 86_400_000).toISOString();
      const created = await createKey(t, u, { name: 'expiring', expiresAt: future });
      expect(created.expiresAt).toBe(future);

      const auth = { Authorization: `Bearer ${u.accessToken}` };
      const past = await t
        .http()
        .post('/api/v1/api-keys')
        .set(auth)
        .send({ name: 'x', expiresAt: new Date(Date.now() - 1000).toISOString() });
      expectErrorShape(past.body, 400, 'VALIDATION_FAILED');
      expect(past.body.message).toMatch(/future/);
      const junk = await t
        .http()
        .post('/api/v1/api-keys')
        .set(auth)
        .send({ name: 'x', expiresAt: 'next tuesday' });
      expectErrorShape(junk.body, 400, 'VALIDATION_FAILED');
      // Valid ISO 8601 that JavaScript's Date cannot read: a 400, never a 500 from the insert.
      for (const expiresAt of ['2030-W01-1', '20300101T000000Z', '2030-01-01T00']) {
        const res = await t.http().post('/api/v1/api-keys').set(auth).send({ name: 'x', expiresAt });
        expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
        expect(res.body.message).toMatch(/expiresAt/);
      }
    });

    it.each([
      ['an empty name', { name: '' }],
      ['a blank name', { name: '   ' }],
      ['a 101-character name', { name: 'n'.repeat(101) }],
      ['no name', {}],
      ['an unknown field', { name: 'ok', scopes: ['all'] }],
    ])('refuses %s with 400', async (_label, body) => {
      const u = await registerUser(t);
      const res = await t
        .http()
        .post('/api/v1/api-keys')
        .set('Authorization', `Bearer ${u.accessToken}`)
        .send(body);
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
    });

    it('accepts a 100-character name', async () => {
      const u = await registerUser(t);
      expect((await createKey(t, u, { name: 'n'.repeat(100) })).name).toHaveLength(100);
    });

    it('allows 50 active keys per user and refuses the 51st with 409 until one is revoked', async () => {
      const u = await registerUser(t);
      const auth = { Authorization: `Bearer ${u.accessToken}` };
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) ids.push((await createKey(t, u, { name: `k${i}` })).id);
      const over = await t.http().post('/api/v1/api-keys').set(auth).send({ name: 'one too many' });
      expectErrorShape(over.body, 409, 'API_KEY_LIMIT');

      expect((await t.http().delete(`/api/v1/api-keys/${ids[0]}`).set(auth)).status).toBe(204);
      await createKey(t, u, { name: 'replacement' });
      const again = await t.http().post('/api/v1/api-keys').set(auth).send({ name: 'over again' });
      expectErrorShape(again.body, 409, 'API_KEY_LIMIT');
    });

    it('does not count expired keys towards the limit', async () => {
      const u = await registerUser(t);
      for (let i = 0; i < 50; i++) await createKey(t, u, { name: `k${i}` });
      await t.orm.em
        .getConnection()
        .execute(
          `update api_keys set expires_at = now() - interval '1 minute' where user_id = ? and name = 'k0'`,
          [u.id],
        );
      await createKey(t, u, { name: 'after expiry' });
    });

    it('never overshoots the limit under concurrent creation', async () => {
      const u = await registerUser(t);
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          t
            .http()
            .post('/api/v1/api-keys')
            .set('Authorization', `Bearer ${u.accessToken}`)
            .send({ name: `race ${i}` }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(50);
      expect(statuses.filter((s) => s === 409)).toHaveLength(10);
      const [{ count }] = await t.orm.em
        .getConnection()
        .execute('select count(*)::int as count from api_keys where user_id = ? and is_active', [u.id]);
      expect(count).toBe(50);
    });
  });

  describe('listing and revoking', () => {
    it('lists the caller’s keys, newest first, with metadata but never the key or its hash', async () => {
      const u = await registerUser(t);
      const other = await registerUser(t, 'other');
      const a = await createKey(t, u, { name: 'first' });
      const b = await createKey(t, u, { name: 'second' });
      await createKey(t, other, { name: 'not mine' });
      const res = await t.http().get('/api/v1/api-keys').set('Authorization', `Bearer ${u.accessToken}`);
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.items.map((k: { id: string }) => k.id)).toEqual([b.id, a.id]);
      expect(Object.keys(res.body.items[0]).sort()).toEqual(
        ['createdAt', 'expiresAt', 'id', 'isActive', 'lastUsedAt', 'name', 'prefix'].sort(),
      );
      expect(res.body.items[0]).toEqual(
        expect.objectContaining({
          name: 'second',
          prefix: b.prefix,
          isActive: true,
          lastUsedAt: null,
          expiresAt: null,
        }),
      );
      const text = visible(res);
      for (const k of [a, b]) {
        expect(text).not.toContain(k.key);
        expect(text).not.toContain(createHash('sha256').update(k.key).digest('hex'));
      }
    });

    it('pages with limit and cursor', async () => {
      const u = await registerUser(t);
      for (let i = 0; i < 3; i++) await createKey(t, u, { name: `p${i}` });
      const auth = { Authorization: `Bearer ${u.accessToken}` };
      const first = await t.http().get('/api/v1/api-keys?limit=2').set(auth);
      expect(first.body.items).toHaveLength(2);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await t.http().get(`/api/v1/api-keys?limit=2&cursor=${first.body.nextCursor}`).set(auth);
      expect(second.body.items.map((k: { name: string }) => k.name)).toEqual(['p0']);
      expect(second.body.nextCursor).toBeNull();
    });

    it('refuses a cursor it did not make with 400, even one naming a date Postgres cannot hold', async () => {
      const u = await registerUser(t);
      const auth = { Authorization: `Bearer ${u.accessToken}` };
      const id = '00000000-0000-4000-8000-000000000000';
      for (const at of ['-200000-01-01T00:00:00.000Z', '+275760-01-01T00:00:00.000Z', '2030-01-01', 12]) {
        const cursor = Buffer.from(JSON.stringify([at, id])).toString('base64url');
        const res = await t.http().get(`/api/v1/api-keys?cursor=${cursor}`).set(auth);
        expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
        expect(res.body.message).toBe('cursor is not a cursor this API returned');
      }
    });

    it('revokes with 204, keeps the key listed as inactive, and refuses it from the next request on', async () => {
      const u = await registerUser(t);
      const k = await createKey(t, u);
      expect((await t.http().get('/api/v1/users/me').set('X-API-Key', k.key)).status).toBe(200);
      const del = await t
        .http()
        .delete(`/api/v1/api-keys/${k.id}`)
        .set('Authorization', `Bearer ${u.accessToken}`);
      expect(del.status).toBe(204);
      const after = await t.http().get('/api/v1/users/me').set('X-API-Key', k.key);
      expectErrorShape(after.body, 401, 'INVALID_API_KEY');
      const bearer = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${k.key}`);
      expectErrorShape(bearer.body, 401, 'INVALID_API_KEY');
      const list = await t.http().get('/api/v1/api-keys').set('Authorization', `Bearer ${u.accessToken}`);
      expect(list.body.items[0]).toEqual(expect.objectContaining({ id: k.id, isActive: false }));
      // Revoking again is harmless.
      expect(
        (await t.http().delete(`/api/v1/api-keys/${k.id}`).set('Authorization', `Bearer ${u.accessToken}`))
          .status,
      ).toBe(204);
    });

    it('answers 404 for another user’s key and leaves it working', async () => {
      const owner = await registerUser(t);
      const intruder = await registerUser(t, 'intruder');
      const k = await createKey(t, owner);
      const res = await t
        .http()
        .delete(`/api/v1/api-keys/${k.id}`)
        .set('Authorization', `Bearer ${intruder.accessToken}`);
      expectErrorShape(res.body, 404, 'NOT_FOUND');
      expect((await t.http().get('/api/v1/users/me').set('X-API-Key', k.key)).status).toBe(200);
      const notUuid = await t
        .http()
        .delete('/api/v1/api-keys/not-a-uuid')
        .set('Authorization', `Bearer ${owner.accessToken}`);
      expectErrorShape(notUuid.body, 400);
    });
  });

  describe('authenticating with a key', () => {
    it('authenticates as its user through X-API-Key and Authorization: Bearer', async () => {
      const u = await registerUser(t);
      const k = await createKey(t, u);
      for (const headers of [{ 'X-API-Key': k.key }, { Authorization: `Bearer ${k.key}` }]) {
        const res = await t.http().get('/api/v1/users/me').set(headers);
        expect(res.status).toBe(200);
        expect(res.body.id).toBe(u.id);
      }
    });

    it('is refused on key management and password change with 403 LOGIN_TOKEN_REQUIRED', async () => {
      const u = await registerUser(t);
      const k = await createKey(t, u);
      const calls = [
        t.http().post('/api/v1/api-keys').set('X-API-Key', k.key).send({ name: 'minted by a key' }),
        t.http().get('/api/v1/api-keys').set('X-API-Key', k.key),
        t.http().delete(`/api/v1/api-keys/${k.id}`).set('Authorization', `Bearer ${k.key}`),
        t
          .http()
          .post('/api/v1/users/me/password')
          .set('X-API-Key', k.key)
          .send({ currentPassword: u.password, newPassword: 'another password 1' }),
      ];
      for (const res of await Promise.all(calls)) {
        expectErrorShape(res.body, 403, 'LOGIN_TOKEN_REQUIRED');
        expect(res.body.message).toMatch(/login token/i);
      }
      const [{ count }] = await t.orm.em
        .getConnection()
        .execute('select count(*)::int as count from api_keys where user_id = ? and is_active', [u.id]);
      expect(count).toBe(1);
    });

    it('refuses malformed keys with 401 INVALID_API_KEY', async () => {
      const u = await registerUser(t);
      const k = await createKey(t, u);
      const malformed = [
        'mp_',
        k.key.slice(0, -1),
        `${k.key}0`,
        `xx_${k.key.slice(3)}`,
        `${k.key.slice(0, 20)}-${k.key.slice(21)}`,
        `mp_${'A'.repeat(38)}`,
      ];
      for (const bad of malformed) {
        const res = await t.http().get('/api/v1/users/me').set('X-API-Key', bad);
        expectErrorShape(res.body, 401, 'INVALID_API_KEY');
      }
    });

    it('refuses a key with any one character changed (checksum), at several positions', async () => {
      const u = await registerUser(t);
      const k = await createKey(t, u);
      for (const position of [3, 10, 20, 34, 35, 40]) {
        const original = k.key[position];
        const replacement = original === 'a' ? 'b' : 'a';
        const changed = k.key.slice(0, position) + replacement + k.key.slice(position + 1);
        const res = await t.http().get('/api/v1/users/me').set('X-API-Key', changed);
        expectErrorShape(res.body, 401, 'INVALID_API_KEY');
      }
      expect((await t.http().get('/api/v1/users/me').set('X-API-Key', k.key)).status).toBe(200);
    });

    it('refuses a well-formed key that was never issued', async () => {
      const u = await registerUser(t);
      const k = await createKey(t, u);
      await t.orm.em.getConnection().execute('delete from api_keys where id = ?', [k.id]);
      const res = await t.http().get('/api/v1/users/me').set('X-API-Key', k.key);
      expectErrorShape(res.body, 401, 'INVALID_API_KEY');
    });

    it('refuses a key once it expires, even while its lookup is cached', async () => {
      const u = await registerUser(t);
      const k = await createKey(t, u, {
        name: 'short-lived',
        expiresAt: new Date(Date.now() + 1500).toISOString(),
      });
      expect((await t.http().get('/api/v1/users/me').set('X-API-Key', k.key)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const res = await t.http().get('/api/v1/users/me').set('X-API-Key', k.key);
      expectErrorShape(res.body, 401, 'INVALID_API_KEY');
    });

    it('refuses the keys of a deactivated user from the next request on, and accepts them again on reactivation', async () => {
      const admin = await registerUser(t, 'admin');
      await makeAdmin(t, admin.id);
      const u = await registerUser(t);
      const k = await createKey(t, u);
      expect((await t.http().get('/api/v1/users/me').set('X-API-Key', k.key)).status).toBe(200);
      const adminAuth = { Authorization: `Bearer ${admin.accessToken}` };
      expect(
        (await t.http().patch(`/api/v1/admin/users/${u.id}`).set(adminAuth).send({ isActive: false })).status,
      ).toBe(200);
      const refused = await t.http().get('/api/v1/users/me').set('X-API-Key', k.key);
      expectErrorShape(refused.body, 401, 'USER_INACTIVE');
      expect(
        (await t.http().patch(`/api/v1/admin/users/${u.id}`).set(adminAuth).send({ isActive: true })).status,
      ).toBe(200);
      expect((await t.http().get('/api/v1/users/me').set('X-API-Key', k.key)).status).toBe(200);
    });

    it('records last_used_at on first use and does not rewrite it on every request', async () => {
      const u = await registerUser(t);
      const k = await createKey(t, u);
      const lastUsed = async (): Promise<Date | null> => {
        const [row] = await t.orm.em
          .getConnection()
          .execute('select last_used_at from api_keys where id = ?', [k.id]);
        return row.last_used_at === null ? null : new Date(row.last_used_at as string);
      };
      expect(await lastUsed()).toBeNull();
      const before = Date.now();
      expect((await t.http().get('/api/v1/users/me').set('X-API-Key', k.key)).status).toBe(200);
      const first = await lastUsed();
      expect(first).not.toBeNull();
      expect(first!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      for (let i = 0; i < 3; i++) await t.http().get('/api/v1/users/me').set('X-API-Key', k.key);
      expect((await lastUsed())!.getTime()).toBe(first!.getTime());
      const list = await t.http().get('/api/v1/api-keys').set('Authorization', `Bearer ${u.accessToken}`);
      expect(new Date(list.body.items[0].lastUsedAt).getTime()).toBe(first!.getTime());
    });

    it('shows the plaintext key in no response but the creating one', async () => {
      const admin = await registerUser(t, 'admin');
      await makeAdmin(t, admin.id);
      const u = await registerUser(t);
      const k = await createKey(t, u);
      const jwt = { Authorization: `Bearer ${u.accessToken}` };
      const responses = [
        await t.http().get('/api/v1/api-keys').set(jwt),
        await t.http().get('/api/v1/users/me').set('X-API-Key', k.key),
        await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${k.key}`),
        await t.http().get('/api/v1/api-keys').set('X-API-Key', k.key),
        await t.http().post('/api/v1/api-keys').set('X-API-Key', k.key).send({ name: k.key }),
        await t.http().get('/api/v1/nope').set('X-API-Key', k.key),
        await t
          .http()
          .get(`/api/v1/admin/users?email=${encodeURIComponent(u.email)}`)
          .set('Authorization', `Bearer ${admin.accessToken}`),
        await t.http().delete(`/api/v1/api-keys/${k.id}`).set(jwt),
        await t.http().get('/api/v1/users/me').set('X-API-Key', k.key),
        await t.http().get('/api/v1/api-keys').set(jwt),
      ];
      for (const res of responses) expect(visible(res)).not.toContain(k.key.slice(10));
    });
  });
});

describe('API keys across two running instances (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ sameStateAs: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('refuses a key on instance B from the next request after it was revoked on instance A', async () => {
    const u = await registerUser(a);
    const k = await createKey(a, u);
    // Warm both instances' caches.
    for (const app of [a, b, a, b])
      expect((await app.http().get('/api/v1/users/me').set('X-API-Key', k.key)).status).toBe(200);
    expect(
      (await a.http().delete(`/api/v1/api-keys/${k.id}`).set('Authorization', `Bearer ${u.accessToken}`))
        .status,
    ).toBe(204);
    const onB = await b.http().get('/api/v1/users/me').set('X-API-Key', k.key);
    expectErrorShape(onB.body, 401, 'INVALID_API_KEY');
    const onA = await a.http().get('/api/v1/users/me').set('X-API-Key', k.key);
    expectErrorShape(onA.body, 401, 'INVALID_API_KEY');
  });

  it('keeps other keys working on both instances after a revocation', async () => {
    const u = await registerUser(a);
    const keep = await createKey(a, u, { name: 'keep' });
    const drop = await createKey(a, u, { name: 'drop' });
    for (const app of [a, b])
      expect((await app.http().get('/api/v1/users/me').set('X-API-Key', keep.key)).status).toBe(200);
    expect(
      (await b.http().delete(`/api/v1/api-keys/${drop.id}`).set('Authorization', `Bearer ${u.accessToken}`))
        .status,
    ).toBe(204);
    for (const app of [a, b]) {
      expect((await app.http().get('/api/v1/users/me').set('X-API-Key', keep.key)).status).toBe(200);
      expect((await app.http().get('/api/v1/users/me').set('X-API-Key', drop.key)).status).toBe(401);
    }
  });

  it('refuses a deactivated user’s key on instance B right after an admin deactivates them on instance A', async () => {
    const admin = await registerUser(a, 'admin');
    await makeAdmin(a, admin.id);
    const u = await registerUser(a);
    const k = await createKey(a, u);
    for (const app of [a, b])
      expect((await app.http().get('/api/v1/users/me').set('X-API-Key', k.key)).status).toBe(200);
    const patch = await a
      .http()
      .patch(`/api/v1/admin/users/${u.id}`)
      .set('Authorization', `Bearer ${admin.accessToken}`)
      .send({ isActive: false });
    expect(patch.status).toBe(200);
    const onB = await b.http().get('/api/v1/users/me').set('X-API-Key', k.key);
    expectErrorShape(onB.body, 401, 'USER_INACTIVE');
  });
});
