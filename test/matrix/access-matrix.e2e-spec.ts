import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Response } from 'supertest';
import { createTestApp, makeAdmin, registerUser, RegisteredUser, TestApp } from '../support/test-app';

jest.setTimeout(120_000);

/**
 * The access matrix: every model, version, prediction and share route, called by every kind of caller with a
 * login token and with an API key, against a model whose shares were granted on version 1 while the routes
 * target version 2 (a share covers the whole family). Each cell's status is asserted against EXPECTED below,
 * and the whole table is written to test/artifacts/matrix.md.
 */

const LINREG = path.join(__dirname, '..', 'fixtures', 'models', 'skl-linreg', 'model.onnx');
const INPUT = { input: [[1, 2, 3, 4]] };
const FAMILY = 'matrix-model';

type Role = 'owner' | 'admin' | 'edit' | 'use' | 'view' | 'stranger';
const ROLES: Role[] = ['owner', 'admin', 'edit', 'use', 'view', 'stranger'];

/** A column: who calls, and with what credential. */
interface Column {
  label: string;
  /** Known callers' expectations come from EXPECTED; refused credentials expect 401 everywhere. */
  role: Role | 'refused';
  /** For refused credentials: the error code every route must answer with. */
  refusal?: string;
  headers: () => Record<string, string>;
}

interface Ctx {
  t: TestApp;
  users: Record<Role | 'inactive', RegisteredUser>;
  keys: Record<Role | 'inactive', string>;
  v1: string;
  v2: string;
  /** A prediction the owner made, and one the `use` holder made, on v2. */
  ownerPrediction: string;
  usePrediction: string;
  shareTargets: { create: RegisteredUser; patch: RegisteredUser; remove: RegisteredUser };
  patchShareId: string;
  deletableModel: string | null;
}

/** A row: one route. `call` sends it; `before`/`after` keep destructive routes repeatable per cell. */
interface Row {
  route: string;
  call: (ctx: Ctx, headers: Record<string, string>) => PromiseLike<Response>;
  before?: (ctx: Ctx) => Promise<void>;
  after?: (ctx: Ctx, status: number) => Promise<void>;
}

// owner, admin, edit, use, view, stranger
const EXPECTED: Record<string, [number, number, number, number, number, number]> = {
  'GET /models/{id}': [200, 200, 200, 200, 200, 404],
  'PATCH /models/{id}': [200, 200, 200, 403, 403, 404],
  'DELETE /models/{id}': [204, 204, 403, 403, 403, 404],
  'GET /models/{id}/file': [200, 200, 200, 200, 200, 404],
  'GET /models/{id}/versions': [200, 200, 200, 200, 200, 404],
  'POST /models/{id}/versions': [201, 201, 201, 403, 403, 404],
  'POST /models/{id}/predictions': [201, 201, 201, 201, 403, 404],
  'GET /models/{id}/predictions': [200, 200, 200, 200, 403, 404],
  "GET /predictions/{id} (owner's)": [200, 200, 404, 404, 404, 404],
  "GET /predictions/{id} (use holder's)": [200, 200, 404, 200, 404, 404],
  'POST /models/{id}/shares': [201, 201, 403, 403, 403, 404],
  'GET /models/{id}/shares': [200, 200, 403, 403, 403, 404],
  'PATCH /models/{id}/shares/{shareId}': [200, 200, 403, 403, 403, 404],
  'DELETE /models/{id}/shares/{shareId}': [204, 204, 403, 403, 403, 404],
  'GET /models': [200, 200, 200, 200, 200, 200],
  'GET /shares/received': [200, 200, 200, 200, 200, 200],
};

async function upload(t: TestApp, user: RegisteredUser): Promise<string> {
  const res = await t
    .http()
    .post('/api/v1/models')
    .set('Authorization', `Bearer ${user.accessToken}`)
    .field('name', FAMILY)
    .field('modelType', 'sklearn')
    .attach('file', LINREG);
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { id: string }).id;
}

/**
 * A refused upload is answered before its body is read, and the server may close the socket while the client is
 * still writing: the client then sees EPIPE/ECONNRESET instead of the response. Only refusals can race like that
 * (an accepted upload reads its whole body), so sending again is safe and yields the same refusal.
 */
async function sendUpload(send: () => PromiseLike<Response>): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 5 || (code !== 'EPIPE' && code !== 'ECONNRESET')) throw error;
    }
  }
}

async function createKey(
  t: TestApp,
  user: RegisteredUser,
  name = 'matrix',
): Promise<{ id: string; key: string }> {
  const res = await t
    .http()
    .post('/api/v1/api-keys')
    .set('Authorization', `Bearer ${user.accessToken}`)
    .send({ name });
  if (res.status !== 201) throw new Error(`key failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; key: string };
}

async function ensureShare(ctx: Ctx, user: RegisteredUser, permission: string): Promise<string> {
  const sql = ctx.t.orm.em.getConnection();
  const ownerId = ctx.users.owner.id;
  await sql.execute(
    `insert into model_shares (model_id, owner_id, shared_with_user_id, permission) values (?, ?, ?, ?)
     on conflict (model_id, shared_with_user_id) do nothing`,
    [ctx.v1, ownerId, user.id, permission],
  );
  const [row] = await sql.execute(
    'select id from model_shares where model_id = ? and shared_with_user_id = ?',
    [ctx.v1, user.id],
  );
  return row.id as string;
}

const ROWS: Row[] = [
  { route: 'GET /models/{id}', call: (c, h) => c.t.http().get(`/api/v1/models/${c.v2}`).set(h) },
  {
    route: 'PATCH /models/{id}',
    call: (c, h) =>
      c.t.http().patch(`/api/v1/models/${c.v2}`).set(h).send({ description: 'patched by the matrix' }),
  },
  {
    route: 'DELETE /models/{id}',
    // A fresh version of the family each time one is deleted: shares on v1 still cover it.
    before: async (c) => {
      if (!c.deletableModel) c.deletableModel = await upload(c.t, c.users.owner);
    },
    call: (c, h) => c.t.http().delete(`/api/v1/models/${c.deletableModel!}`).set(h),
    after: (c, status) => {
      if (status === 204) c.deletableModel = null;
      return Promise.resolve();
    },
  },
  { route: 'GET /models/{id}/file', call: (c, h) => c.t.http().get(`/api/v1/models/${c.v2}/file`).set(h) },
  {
    route: 'GET /models/{id}/versions',
    call: (c, h) => c.t.http().get(`/api/v1/models/${c.v2}/versions`).set(h),
  },
  {
    route: 'POST /models/{id}/versions',
    call: (c, h) =>
      sendUpload(() =>
        c.t
          .http()
          .post(`/api/v1/models/${c.v2}/versions`)
          .set(h)
          .field('modelType', 'sklearn')
          .attach('file', readFileSync(LINREG), 'model.onnx'),
      ),
  },
  {
    route: 'POST /models/{id}/predictions',
    call: (c, h) => c.t.http().post(`/api/v1/models/${c.v2}/predictions`).set(h).send({ input: INPUT }),
  },
  {
    route: 'GET /models/{id}/predictions',
    call: (c, h) => c.t.http().get(`/api/v1/models/${c.v2}/predictions`).set(h),
  },
  {
    route: "GET /predictions/{id} (owner's)",
    call: (c, h) => c.t.http().get(`/api/v1/predictions/${c.ownerPrediction}`).set(h),
  },
  {
    route: "GET /predictions/{id} (use holder's)",
    call: (c, h) => c.t.http().get(`/api/v1/predictions/${c.usePrediction}`).set(h),
  },
  {
    route: 'POST /models/{id}/shares',
    call: (c, h) =>
      c.t
        .http()
        .post(`/api/v1/models/${c.v2}/shares`)
        .set(h)
        .send({ userId: c.shareTargets.create.id, permission: 'view' }),
    after: async (c) => {
      await c.t.orm.em
        .getConnection()
        .execute('delete from model_shares where shared_with_user_id = ?', [c.shareTargets.create.id]);
    },
  },
  {
    route: 'GET /models/{id}/shares',
    call: (c, h) => c.t.http().get(`/api/v1/models/${c.v2}/shares`).set(h),
  },
  {
    route: 'PATCH /models/{id}/shares/{shareId}',
    call: (c, h) =>
      c.t.http().patch(`/api/v1/models/${c.v2}/shares/${c.patchShareId}`).set(h).send({ permission: 'view' }),
  },
  {
    route: 'DELETE /models/{id}/shares/{shareId}',
    call: async (c, h) => {
      const shareId = await ensureShare(c, c.shareTargets.remove, 'view');
      return c.t.http().delete(`/api/v1/models/${c.v2}/shares/${shareId}`).set(h);
    },
  },
  { route: 'GET /models', call: (c, h) => c.t.http().get('/api/v1/models').set(h) },
  { route: 'GET /shares/received', call: (c, h) => c.t.http().get('/api/v1/shares/received').set(h) },
];

describe('access matrix (e2e)', () => {
  const ctx = {} as Ctx;
  const columns: Column[] = [];
  const results = new Map<string, Map<string, { status: number; expected: number }>>();

  beforeAll(async () => {
    const t = await createTestApp();
    ctx.t = t;
    const users = {} as Ctx['users'];
    for (const who of [...ROLES, 'inactive'] as const) users[who] = await registerUser(t, who);
    await makeAdmin(t, users.admin.id);
    // Refresh the admin's token is not needed: the guard reads is_admin from the database on each request.
    ctx.users = users;
    ctx.shareTargets = {
      create: await registerUser(t, 'share-create-target'),
      patch: await registerUser(t, 'share-patch-target'),
      remove: await registerUser(t, 'share-remove-target'),
    };

    ctx.v1 = await upload(t, users.owner);
    const ownerJwt = { Authorization: `Bearer ${users.owner.accessToken}` };
    for (const [who, permission] of [
      ['edit', 'edit'],
      ['use', 'use'],
      ['view', 'view'],
      ['inactive', 'use'],
    ] as const) {
      const res = await t
        .http()
        .post(`/api/v1/models/${ctx.v1}/shares`)
        .set(ownerJwt)
        .send({ userId: users[who].id, permission });
      if (res.status !== 201) throw new Error(`share failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    // Shared on v1; every route below targets v2, uploaded after the shares.
    ctx.v2 = await upload(t, users.owner);
    ctx.patchShareId = await ensureShare(ctx, ctx.shareTargets.patch, 'view');
    ctx.deletableModel = null;

    const predict = async (u: RegisteredUser) => {
      const res = await t
        .http()
        .post(`/api/v1/models/${ctx.v2}/predictions`)
        .set('Authorization', `Bearer ${u.accessToken}`)
        .send({ input: INPUT });
      if (res.status !== 201) throw new Error(`prediction failed: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { id: string }).id;
    };
    ctx.ownerPrediction = await predict(users.owner);
    ctx.usePrediction = await predict(users.use);

    const keys = {} as Ctx['keys'];
    for (const who of [...ROLES, 'inactive'] as const) keys[who] = (await createKey(t, users[who])).key;
    ctx.keys = keys;

    const revoked = await createKey(t, users.owner, 'revoked');
    expect((await t.http().get('/api/v1/users/me').set('X-API-Key', revoked.key)).status).toBe(200);
    expect((await t.http().delete(`/api/v1/api-keys/${revoked.id}`).set(ownerJwt)).status).toBe(204);
    const expired = await createKey(t, users.owner, 'expired');
    await t.orm.em
      .getConnection()
      .execute(`update api_keys set expires_at = now() - interval '1 hour' where id = ?`, [expired.id]);
    const valid = keys.owner;
    const last = valid[valid.length - 1];
    const malformed = valid.slice(0, -1) + (last === 'a' ? 'b' : 'a');

    // Deactivated after their token, key and share exist, so only the deactivation can explain a 401.
    const admin = { Authorization: `Bearer ${users.admin.accessToken}` };
    expect(
      (await t.http().patch(`/api/v1/admin/users/${users.inactive.id}`).set(admin).send({ isActive: false }))
        .status,
    ).toBe(200);

    for (const role of ROLES) {
      columns.push({
        label: `${role} · JWT`,
        role,
        headers: () => ({ Authorization: `Bearer ${users[role].accessToken}` }),
      });
      columns.push({ label: `${role} · key`, role, headers: () => ({ 'X-API-Key': keys[role] }) });
    }
    columns.push(
      {
        label: 'inactive · JWT',
        role: 'refused',
        refusal: 'USER_INACTIVE',
        headers: () => ({ Authorization: `Bearer ${users.inactive.accessToken}` }),
      },
      {
        label: 'inactive · key',
        role: 'refused',
        refusal: 'USER_INACTIVE',
        headers: () => ({ 'X-API-Key': keys.inactive }),
      },
      {
        label: 'revoked key',
        role: 'refused',
        refusal: 'INVALID_API_KEY',
        headers: () => ({ 'X-API-Key': revoked.key }),
      },
      {
        label: 'expired key',
        role: 'refused',
        refusal: 'INVALID_API_KEY',
        headers: () => ({ Authorization: `Bearer ${expired.key}` }),
      },
      {
        label: 'malformed key',
        role: 'refused',
        refusal: 'INVALID_API_KEY',
        headers: () => ({ 'X-API-Key': malformed }),
      },
      { label: 'no credentials', role: 'refused', refusal: 'UNAUTHENTICATED', headers: () => ({}) },
    );
  });

  afterAll(async () => {
    const header = ['route', ...columns.map((c) => c.label)];
    const lines = [
      `| ${header.join(' | ')} |`,
      `|${header.map(() => '---').join('|')}|`,
      ...ROWS.map((row) => {
        const cells = columns.map((c) => {
          const r = results.get(row.route)?.get(c.label);
          if (!r) return '–';
          return r.status === r.expected ? String(r.status) : `**${r.status}** (want ${r.expected})`;
        });
        return `| ${row.route} | ${cells.join(' | ')} |`;
      }),
    ];
    const table = lines.join('\n');
    const dir = path.join(__dirname, '..', 'artifacts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'matrix.md'),
      `# Access matrix\n\nShares granted on v1; routes called on v2. "key" = X-API-Key (the expired key is sent as Authorization: Bearer).\n\n${table}\n`,
    );
    console.log(`Access matrix (also in test/artifacts/matrix.md):\n\n${table}\n`);
    await ctx.t?.close();
  });

  it.each(ROWS.map((r) => [r.route, r] as const))('%s', async (route, row) => {
    const cells = new Map<string, { status: number; expected: number }>();
    results.set(route, cells);
    const expectedRow = EXPECTED[route];
    if (!expectedRow) throw new Error(`no expectations for ${route}`);
    for (const column of columns) {
      const expected = column.role === 'refused' ? 401 : expectedRow[ROLES.indexOf(column.role)];
      await row.before?.(ctx);
      const res = await row.call(ctx, column.headers());
      cells.set(column.label, { status: res.status, expected });
      if (column.refusal && res.status === 401)
        expect(`${column.label}: ${res.body.code}`).toBe(`${column.label}: ${column.refusal}`);
      if (res.status >= 400) {
        // Every refusal in the shared error shape.
        expect(res.body).toEqual(
          expect.objectContaining({
            statusCode: res.status,
            code: expect.any(String),
            requestId: expect.any(String),
          }),
        );
      }
      await row.after?.(ctx, res.status);
    }
    const actual = Object.fromEntries([...cells].map(([label, r]) => [label, r.status]));
    const wanted = Object.fromEntries([...cells].map(([label, r]) => [label, r.expected]));
    expect(actual).toEqual(wanted);
  });
});
