import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import {
  createTestApp,
  expectErrorShape,
  makeAdmin,
  registerUser,
  RegisteredUser,
  TestApp,
} from '../support/test-app';

jest.setTimeout(60_000);

const LINREG = path.join(__dirname, '..', 'fixtures', 'models', 'skl-linreg', 'model.onnx');
const INPUT = { input: [[1, 2, 3, 4]] };

interface ShareBody {
  id: string;
  modelId: string;
  ownerId: string;
  sharedWithUserId: string;
  permission: string;
  createdAt: string;
  updatedAt: string;
}

async function upload(
  t: TestApp,
  user: RegisteredUser,
  name: string,
): Promise<{ id: string; version: number }> {
  const res = await t
    .http()
    .post('/api/v1/models')
    .set('Authorization', `Bearer ${user.accessToken}`)
    .field('name', name)
    .field('modelType', 'sklearn')
    .attach('file', LINREG);
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; version: number };
}

describe('model shares (e2e)', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let stranger: RegisteredUser;
  let admin: RegisteredUser;
  const as = (u: RegisteredUser) => ({ Authorization: `Bearer ${u.accessToken}` });

  beforeAll(async () => {
    t = await createTestApp();
    owner = await registerUser(t, 'owner');
    alice = await registerUser(t, 'alice');
    bob = await registerUser(t, 'bob');
    stranger = await registerUser(t, 'stranger');
    admin = await registerUser(t, 'admin');
    await makeAdmin(t, admin.id);
  });
  afterAll(async () => {
    await t.close();
  });

  const share = (model: string, who: RegisteredUser, body: Record<string, unknown>) =>
    t.http().post(`/api/v1/models/${model}/shares`).set(as(who)).send(body);

  it('shares by e-mail or user id and answers with the share', async () => {
    const m = await upload(t, owner, 'share-basic');
    const byEmail = await share(m.id, owner, { email: alice.email.toUpperCase(), permission: 'view' });
    expect(byEmail.status).toBe(201);
    expect(Object.keys(byEmail.body).sort()).toEqual(
      ['createdAt', 'id', 'modelId', 'ownerId', 'permission', 'sharedWithUserId', 'updatedAt'].sort(),
    );
    expect(byEmail.body).toEqual(
      expect.objectContaining({
        modelId: m.id,
        ownerId: owner.id,
        sharedWithUserId: alice.id,
        permission: 'view',
      }),
    );
    const byId = await share(m.id, owner, { userId: bob.id, permission: 'edit' });
    expect(byId.status).toBe(201);
    expect(byId.body.sharedWithUserId).toBe(bob.id);

    const rows = await t.orm.em
      .getConnection()
      .execute(
        'select model_id, owner_id, shared_with_user_id, permission from model_shares where model_id = ? order by permission',
        [m.id],
      );
    expect(rows).toEqual([
      { model_id: m.id, owner_id: owner.id, shared_with_user_id: alice.id, permission: 'view' },
      { model_id: m.id, owner_id: owner.id, shared_with_user_id: bob.id, permission: 'edit' },
    ]);
  });

  it.each([
    ['neither userId nor email', { permission: 'view' }],
    ['both userId and email', { userId: randomUUID(), email: 'x@example.com', permission: 'view' }],
    ['an unknown permission', { email: 'x@example.com', permission: 'owner' }],
    ['no permission', { email: 'x@example.com' }],
    ['a malformed userId', { userId: 'nope', permission: 'view' }],
    ['a malformed email', { email: 'not-an-email', permission: 'view' }],
  ])('refuses %s with 400', async (_label, body) => {
    const m = await upload(t, owner, 'share-validation');
    const res = await share(m.id, owner, body);
    expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
  });

  it('refuses sharing with oneself (400), unknown users (404) and a second share for the same user (409)', async () => {
    const m = await upload(t, owner, 'share-conflicts');
    expectErrorShape(
      (await share(m.id, owner, { userId: owner.id, permission: 'view' })).body,
      400,
      'SHARE_WITH_SELF',
    );
    expectErrorShape(
      (await share(m.id, owner, { email: owner.email, permission: 'use' })).body,
      400,
      'SHARE_WITH_SELF',
    );
    expectErrorShape(
      (await share(m.id, owner, { userId: randomUUID(), permission: 'view' })).body,
      404,
      'NOT_FOUND',
    );
    expectErrorShape(
      (await share(m.id, owner, { email: 'nobody-here@example.com', permission: 'view' })).body,
      404,
      'NOT_FOUND',
    );
    expect((await share(m.id, owner, { userId: alice.id, permission: 'view' })).status).toBe(201);
    expectErrorShape(
      (await share(m.id, owner, { userId: alice.id, permission: 'edit' })).body,
      409,
      'SHARE_EXISTS',
    );
    // Also through another version of the same model: one share per user covers the family.
    const v2 = await upload(t, owner, 'share-conflicts');
    expect(v2.version).toBe(2);
    expectErrorShape(
      (await share(v2.id, owner, { email: alice.email, permission: 'use' })).body,
      409,
      'SHARE_EXISTS',
    );
  });

  it('lets an admin share on the owner’s behalf, but only the owner or an admin manage shares', async () => {
    const m = await upload(t, owner, 'share-who');
    const byAdmin = await share(m.id, admin, { userId: alice.id, permission: 'edit' });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.ownerId).toBe(owner.id);
    // alice has edit: still not allowed to manage shares.
    expectErrorShape(
      (await share(m.id, alice, { userId: bob.id, permission: 'view' })).body,
      403,
      'INSUFFICIENT_PERMISSION',
    );
    expectErrorShape(
      (await t.http().get(`/api/v1/models/${m.id}/shares`).set(as(alice))).body,
      403,
      'INSUFFICIENT_PERMISSION',
    );
    // stranger cannot even see the model.
    expectErrorShape(
      (await share(m.id, stranger, { userId: bob.id, permission: 'view' })).body,
      404,
      'NOT_FOUND',
    );
    expectErrorShape(
      (await t.http().get(`/api/v1/models/${m.id}/shares`).set(as(stranger))).body,
      404,
      'NOT_FOUND',
    );
    expectErrorShape(
      (await share(randomUUID(), owner, { userId: bob.id, permission: 'view' })).body,
      404,
      'NOT_FOUND',
    );
  });

  it('covers every version with the same name, present and future, and only that name', async () => {
    const v1 = await upload(t, owner, 'share-family');
    const other = await upload(t, owner, 'share-other-name');
    expect((await share(v1.id, owner, { userId: alice.id, permission: 'use' })).status).toBe(201);
    const v2 = await upload(t, owner, 'share-family');
    expect(v2.version).toBe(2);
    expect((await t.http().get(`/api/v1/models/${v2.id}`).set(as(alice))).status).toBe(200);
    const predicted = await t
      .http()
      .post(`/api/v1/models/${v2.id}/predictions`)
      .set(as(alice))
      .send({ input: INPUT });
    expect(predicted.status).toBe(201);
    const versions = await t.http().get(`/api/v1/models/${v2.id}/versions`).set(as(alice));
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expectErrorShape(
      (await t.http().get(`/api/v1/models/${other.id}`).set(as(alice))).body,
      404,
      'NOT_FOUND',
    );
    // The owner sees the family's shares from any version.
    const listed = await t.http().get(`/api/v1/models/${v2.id}/shares`).set(as(owner));
    expect(listed.body.items.map((s: ShareBody) => s.sharedWithUserId)).toEqual([alice.id]);
  });

  it('keeps the family shared when the version the share was made on is deleted', async () => {
    const v1 = await upload(t, owner, 'share-survives');
    const created = (await share(v1.id, owner, { userId: alice.id, permission: 'use' })).body as ShareBody;
    const v2 = await upload(t, owner, 'share-survives');
    expect((await t.http().delete(`/api/v1/models/${v1.id}`).set(as(owner))).status).toBe(204);
    expect((await t.http().get(`/api/v1/models/${v2.id}`).set(as(alice))).status).toBe(200);
    const listed = await t.http().get(`/api/v1/models/${v2.id}/shares`).set(as(owner));
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        id: created.id,
        modelId: v2.id,
        sharedWithUserId: alice.id,
        permission: 'use',
      }),
    ]);
    // Deleting the last version takes the share with it.
    expect((await t.http().delete(`/api/v1/models/${v2.id}`).set(as(owner))).status).toBe(204);
    const [{ count }] = await t.orm.em
      .getConnection()
      .execute('select count(*)::int as count from model_shares where id = ?', [created.id]);
    expect(count).toBe(0);
  });

  it('changes the permission with PATCH and takes it back with DELETE', async () => {
    const m = await upload(t, owner, 'share-lifecycle');
    const created = (await share(m.id, owner, { userId: alice.id, permission: 'view' })).body as ShareBody;
    const predict = () =>
      t.http().post(`/api/v1/models/${m.id}/predictions`).set(as(alice)).send({ input: INPUT });
    expectErrorShape((await predict()).body, 403, 'INSUFFICIENT_PERMISSION');
    expect((await predict()).body.message).toMatch(/"use"/);

    const patched = await t
      .http()
      .patch(`/api/v1/models/${m.id}/shares/${created.id}`)
      .set(as(owner))
      .send({ permission: 'use' });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual(
      expect.objectContaining({ id: created.id, permission: 'use', sharedWithUserId: alice.id }),
    );
    expect(new Date(patched.body.updatedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(created.updatedAt).getTime(),
    );
    expect((await predict()).status).toBe(201);

    expectErrorShape(
      (
        await t
          .http()
          .patch(`/api/v1/models/${m.id}/shares/${created.id}`)
          .set(as(owner))
          .send({ permission: 'admin' })
      ).body,
      400,
      'VALIDATION_FAILED',
    );
    expectErrorShape(
      (
        await t
          .http()
          .patch(`/api/v1/models/${m.id}/shares/${created.id}`)
          .set(as(owner))
          .send({ permission: 'edit', userId: bob.id })
      ).body,
      400,
      'VALIDATION_FAILED',
    );
    expectErrorShape(
      (
        await t
          .http()
          .patch(`/api/v1/models/${m.id}/shares/${created.id}`)
          .set(as(alice))
          .send({ permission: 'edit' })
      ).body,
      403,
      'INSUFFICIENT_PERMISSION',
    );

    expect((await t.http().delete(`/api/v1/models/${m.id}/shares/${created.id}`).set(as(owner))).status).toBe(
      204,
    );
    expectErrorShape((await t.http().get(`/api/v1/models/${m.id}`).set(as(alice))).body, 404, 'NOT_FOUND');
    expectErrorShape(
      (await t.http().delete(`/api/v1/models/${m.id}/shares/${created.id}`).set(as(owner))).body,
      404,
      'NOT_FOUND',
    );
  });

  it('answers 404 for a share of another model and 400 for a malformed share id', async () => {
    const a = await upload(t, owner, 'share-a');
    const b = await upload(t, owner, 'share-b');
    const onA = (await share(a.id, owner, { userId: alice.id, permission: 'view' })).body as ShareBody;
    expectErrorShape(
      (
        await t
          .http()
          .patch(`/api/v1/models/${b.id}/shares/${onA.id}`)
          .set(as(owner))
          .send({ permission: 'edit' })
      ).body,
      404,
      'NOT_FOUND',
    );
    expectErrorShape(
      (await t.http().delete(`/api/v1/models/${b.id}/shares/${onA.id}`).set(as(owner))).body,
      404,
      'NOT_FOUND',
    );
    expectErrorShape(
      (await t.http().delete(`/api/v1/models/${b.id}/shares/not-a-uuid`).set(as(owner))).body,
      400,
    );
    // Someone else's model: the share id of one's own model does not help.
    const foreign = await upload(t, stranger, 'share-foreign');
    expectErrorShape(
      (
        await t
          .http()
          .patch(`/api/v1/models/${foreign.id}/shares/${onA.id}`)
          .set(as(stranger))
          .send({ permission: 'edit' })
      ).body,
      404,
      'NOT_FOUND',
    );
    expect((await t.http().get(`/api/v1/models/${a.id}`).set(as(alice))).status).toBe(200);
  });

  it('lists a model’s shares page by page, newest first', async () => {
    const m = await upload(t, owner, 'share-pages');
    const ids: string[] = [];
    for (const u of [alice, bob, stranger])
      ids.push(((await share(m.id, owner, { userId: u.id, permission: 'view' })).body as ShareBody).id);
    const first = await t.http().get(`/api/v1/models/${m.id}/shares?limit=2`).set(as(owner));
    expect(first.status).toBe(200);
    expect(first.body.items.map((s: ShareBody) => s.id)).toEqual([ids[2], ids[1]]);
    const second = await t
      .http()
      .get(`/api/v1/models/${m.id}/shares?limit=2&cursor=${first.body.nextCursor}`)
      .set(as(owner));
    expect(second.body.items.map((s: ShareBody) => s.id)).toEqual([ids[0]]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('lists the models shared with the caller, with their permission and the newest version', async () => {
    const receiver = await registerUser(t, 'receiver');
    const m1 = await upload(t, owner, 'received-one');
    const m2 = await upload(t, bob, 'received-two');
    await share(m1.id, owner, { userId: receiver.id, permission: 'view' });
    await share(m2.id, bob, { userId: receiver.id, permission: 'edit' });
    const m1v2 = await upload(t, owner, 'received-one');

    const res = await t.http().get('/api/v1/shares/received').set(as(receiver));
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.items).toHaveLength(2);
    expect(res.body.items[0]).toEqual(
      expect.objectContaining({
        permission: 'edit',
        model: expect.objectContaining({ id: m2.id, name: 'received-two', version: 1 }),
        owner: { id: bob.id, fullName: 'Test bob' },
      }),
    );
    expect(res.body.items[1]).toEqual(
      expect.objectContaining({
        permission: 'view',
        model: expect.objectContaining({ id: m1v2.id, version: 2 }),
      }),
    );
    const page = await t.http().get('/api/v1/shares/received?limit=1').set(as(receiver));
    expect(page.body.items).toHaveLength(1);
    const rest = await t
      .http()
      .get(`/api/v1/shares/received?limit=1&cursor=${page.body.nextCursor}`)
      .set(as(receiver));
    expect(rest.body.items[0].model.name).toBe('received-one');
    // Nothing shared with the stranger from these.
    const none = await t.http().get('/api/v1/shares/received').set(as(stranger));
    expect(none.body.items.map((s: { model: { name: string } }) => s.model.name)).not.toContain(
      'received-one',
    );
  });

  it('includes shared models in GET /models, filtered by owned=true|false', async () => {
    const receiver = await registerUser(t, 'lister');
    const own = await upload(t, receiver, 'lister-own');
    const theirs = await upload(t, owner, 'lister-shared');
    await share(theirs.id, owner, { userId: receiver.id, permission: 'view' });
    const ids = async (query: string) =>
      (
        (await t.http().get(`/api/v1/models${query}`).set(as(receiver))).body.items as Array<{ id: string }>
      ).map((m) => m.id);
    expect((await ids('')).sort()).toEqual([own.id, theirs.id].sort());
    expect(await ids('?owned=true')).toEqual([own.id]);
    expect(await ids('?owned=false')).toEqual([theirs.id]);
  });

  it('records predictions made through a share under the caller: they see their own, the owner sees all', async () => {
    const m = await upload(t, owner, 'share-predictions');
    await share(m.id, owner, { userId: alice.id, permission: 'use' });
    await share(m.id, owner, { userId: bob.id, permission: 'use' });
    const byAlice = await t
      .http()
      .post(`/api/v1/models/${m.id}/predictions`)
      .set(as(alice))
      .send({ input: INPUT });
    const byBob = await t
      .http()
      .post(`/api/v1/models/${m.id}/predictions`)
      .set(as(bob))
      .send({ input: INPUT });
    const byOwner = await t
      .http()
      .post(`/api/v1/models/${m.id}/predictions`)
      .set(as(owner))
      .send({ input: INPUT });
    for (const r of [byAlice, byBob, byOwner]) expect(r.status).toBe(201);
    const [row] = await t.orm.em
      .getConnection()
      .execute('select user_id from predictions where id = ?', [byAlice.body.id]);
    expect(row.user_id).toBe(alice.id);

    const listed = async (u: RegisteredUser) =>
      (
        (await t.http().get(`/api/v1/models/${m.id}/predictions`).set(as(u))).body.items as Array<{
          id: string;
        }>
      )
        .map((p) => p.id)
        .sort();
    expect(await listed(alice)).toEqual([byAlice.body.id]);
    expect(await listed(bob)).toEqual([byBob.body.id]);
    expect(await listed(owner)).toEqual([byAlice.body.id, byBob.body.id, byOwner.body.id].sort());
    expect((await t.http().get(`/api/v1/predictions/${byBob.body.id}`).set(as(alice))).status).toBe(404);
    expect((await t.http().get(`/api/v1/predictions/${byBob.body.id}`).set(as(owner))).status).toBe(200);
  });
});
