import type { AccessEpoch } from '../redis/redis.module';
import { AppError } from '../common/app-error';
import type { Model } from '../models/model.entity';
import type { User } from '../users/user.entity';
import type { UsersService } from '../users/users.service';
import type { ModelAccess } from './model-access.service';
import type { ModelShare } from './model-share.entity';
import type { ModelFamily, ModelSharesRepository, NewModelShare } from './model-shares.repository';
import { WebhookEventsService } from '../events/webhook-events.service';
import { ModelSharesService } from './model-shares.service';

const owner = { id: 'owner', email: 'owner@example.com' } as User;
const alice = { id: 'alice', email: 'alice@example.com' } as User;
const model = { id: 'model-v1', name: 'iris', user: owner } as Model;
const access: ModelAccess = { model, permission: 'owner' };

class FakeShares {
  rows: Array<ModelShare & { family: ModelFamily }> = [];
  moved: Array<{ modelId: string; family: ModelFamily }> = [];
  insertUnlessShared(data: NewModelShare): Promise<ModelShare | null> {
    const family = { ownerId: data.ownerId, name: data.name };
    if (
      this.rows.some(
        (r) =>
          r.family.ownerId === family.ownerId &&
          r.family.name === family.name &&
          r.sharedWithUser.id === data.sharedWithUserId,
      )
    ) {
      return Promise.resolve(null);
    }
    const row = {
      id: `share-${this.rows.length + 1}`,
      model: { id: data.modelId },
      owner: { id: data.ownerId },
      sharedWithUser: { id: data.sharedWithUserId },
      permission: data.permission,
      createdAt: new Date(0),
      updatedAt: new Date(0),
      family,
    } as unknown as ModelShare & { family: ModelFamily };
    this.rows.push(row);
    return Promise.resolve(row);
  }
  findInFamily(family: ModelFamily, id: string): Promise<ModelShare | null> {
    return Promise.resolve(
      this.rows.find(
        (r) => r.id === id && r.family.ownerId === family.ownerId && r.family.name === family.name,
      ) ?? null,
    );
  }
  save(share: ModelShare): Promise<ModelShare> {
    return Promise.resolve(share);
  }
  delete(share: ModelShare): Promise<void> {
    this.rows = this.rows.filter((r) => r !== share);
    return Promise.resolve();
  }
  moveOffVersion(modelId: string, family: ModelFamily): Promise<number> {
    this.moved.push({ modelId, family });
    return Promise.resolve(0);
  }
}

class FakeUsers {
  findById(id: string): Promise<User | null> {
    return Promise.resolve([owner, alice].find((u) => u.id === id) ?? null);
  }
  findByEmail(email: string): Promise<User | null> {
    return Promise.resolve([owner, alice].find((u) => u.email === email.trim().toLowerCase()) ?? null);
  }
}

function setup() {
  const shares = new FakeShares();
  const service = new ModelSharesService(
    shares as unknown as ModelSharesRepository,
    new FakeUsers() as unknown as UsersService,
    { record: () => Promise.resolve('event-id') } as unknown as WebhookEventsService,
    { announceChange: () => Promise.resolve() } as unknown as AccessEpoch,
  );
  return { shares, service };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(AppError);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('ModelSharesService', () => {
  it('grants a share on the model family to a user found by id or e-mail', async () => {
    const { service, shares } = setup();
    const created = await service.grant(access, { email: ' ALICE@example.com ', permission: 'use' });
    expect(created).toEqual({
      id: 'share-1',
      modelId: 'model-v1',
      ownerId: 'owner',
      sharedWithUserId: 'alice',
      permission: 'use',
      createdAt: new Date(0),
      updatedAt: new Date(0),
    });
    expect(shares.rows[0].family).toEqual({ ownerId: 'owner', name: 'iris' });
  });

  it('stores the model owner as owner even when an admin shares', async () => {
    const { service } = setup();
    const created = await service.grant(
      { model, permission: 'owner' },
      { userId: 'alice', permission: 'view' },
    );
    expect(created.ownerId).toBe('owner');
  });

  it('needs exactly one of userId and email', async () => {
    const { service } = setup();
    await expectCode(service.grant(access, { permission: 'view' }), 'VALIDATION_FAILED');
    await expectCode(
      service.grant(access, { userId: 'alice', email: 'alice@example.com', permission: 'view' }),
      'VALIDATION_FAILED',
    );
  });

  it('refuses the owner (SHARE_WITH_SELF), unknown users (NOT_FOUND) and a second share (SHARE_EXISTS)', async () => {
    const { service } = setup();
    await expectCode(service.grant(access, { userId: 'owner', permission: 'view' }), 'SHARE_WITH_SELF');
    await expectCode(service.grant(access, { userId: 'ghost', permission: 'view' }), 'NOT_FOUND');
    await expectCode(service.grant(access, { email: 'ghost@example.com', permission: 'view' }), 'NOT_FOUND');
    await service.grant(access, { userId: 'alice', permission: 'view' });
    const v2: ModelAccess = { model: { ...model, id: 'model-v2' }, permission: 'owner' };
    await expectCode(service.grant(v2, { userId: 'alice', permission: 'edit' }), 'SHARE_EXISTS');
  });

  it('updates and revokes only shares of the same family', async () => {
    const { service, shares } = setup();
    const created = await service.grant(access, { userId: 'alice', permission: 'view' });
    const otherName: ModelAccess = { model: { ...model, id: 'other', name: 'other' }, permission: 'owner' };
    await expectCode(service.update(otherName, created.id, { permission: 'edit' }), 'NOT_FOUND');
    await expectCode(service.revoke(otherName, created.id), 'NOT_FOUND');
    expect((await service.update(access, created.id, { permission: 'edit' })).permission).toBe('edit');
    await service.revoke(access, created.id);
    expect(shares.rows).toHaveLength(0);
    await expectCode(service.revoke(access, created.id), 'NOT_FOUND');
  });

  it('moves a version’s shares to its family before the version is deleted', async () => {
    const { service, shares } = setup();
    await service.keepSharesBeforeDeleting(model);
    expect(shares.moved).toEqual([{ modelId: 'model-v1', family: { ownerId: 'owner', name: 'iris' } }]);
  });
});
