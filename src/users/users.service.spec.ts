import type { AccessEpoch } from '../redis/redis.module';
import { AppError } from '../common/app-error';
import type { User } from './user.entity';
import type { UsersRepository } from './users.repository';
import { OAuthIdentity, UsersService } from './users.service';

/** Resolves on a later tick, like the real (async) collaborator. */
const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);

/** An in-memory stand-in for UsersRepository (only the methods UsersService uses). */
class FakeUsersRepository {
  readonly rows: User[] = [];
  saves = 0;

  seed(over: Partial<User>): User {
    const user = {
      id: `u${this.rows.length + 1}`,
      email: 'x@example.com',
      fullName: 'X',
      hashedPassword: null,
      oauthProvider: null,
      oauthId: null,
      avatarUrl: null,
      isActive: true,
      isAdmin: false,
      createdAt: new Date(),
      updatedAt: new Date(),
      ...over,
    };
    this.rows.push(user);
    return user;
  }
  findOne(where: { id: string }): Promise<User | null> {
    return later(() => this.rows.find((u) => u.id === where.id) ?? null);
  }
  findByEmail(email: string): Promise<User | null> {
    return later(() => {
      return this.rows.find((u) => u.email === email) ?? null;
    });
  }
  findByOAuth(provider: string, oauthId: string): Promise<User | null> {
    return later(() => {
      return this.rows.find((u) => u.oauthProvider === provider && u.oauthId === oauthId) ?? null;
    });
  }
  create(data: Partial<User>): User {
    return {
      id: `u${this.rows.length + 1}`,
      isActive: true,
      isAdmin: false,
      createdAt: new Date(),
      updatedAt: new Date(),
      ...data,
    } as User;
  }
  save(user: User): Promise<User> {
    return later(() => {
      this.saves += 1;
      if (!this.rows.includes(user)) this.rows.push(user);
      return user;
    });
  }
  async withAdminsLocked<T>(work: (ids: string[]) => Promise<T>): Promise<T> {
    return work(this.rows.filter((u) => u.isAdmin && u.isActive).map((u) => u.id));
  }
  getEntityManager() {
    return { clear: () => undefined };
  }
}

function setup() {
  const repo = new FakeUsersRepository();
  return {
    repo,
    service: new UsersService(
      repo as unknown as UsersRepository,
      { announceChange: () => Promise.resolve(), bump: () => Promise.resolve() } as unknown as AccessEpoch,
    ),
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('UsersService.adminUpdate', () => {
  it('refuses to demote or deactivate the last active admin', async () => {
    const { repo, service } = setup();
    const admin = repo.seed({ isAdmin: true });
    repo.seed({ isAdmin: true, isActive: false }); // an inactive admin does not count
    for (const dto of [{ isAdmin: false }, { isActive: false }, { isAdmin: false, isActive: false }]) {
      expect(await codeOf(service.adminUpdate(admin.id, dto))).toBe('LAST_ADMIN');
    }
    expect(admin).toEqual(expect.objectContaining({ isAdmin: true, isActive: true }));
    expect(repo.saves).toBe(0);
  });

  it('lets one of two active admins step down', async () => {
    const { repo, service } = setup();
    repo.seed({ isAdmin: true });
    const second = repo.seed({ isAdmin: true });
    await service.adminUpdate(second.id, { isActive: false });
    expect(second.isActive).toBe(false);
  });

  it('changes a plain user freely, and leaves fields not given alone', async () => {
    const { repo, service } = setup();
    repo.seed({ isAdmin: true });
    const user = repo.seed({});
    await service.adminUpdate(user.id, { isAdmin: true });
    expect(user).toEqual(expect.objectContaining({ isAdmin: true, isActive: true }));
    await service.adminUpdate(user.id, { isActive: false });
    expect(user).toEqual(expect.objectContaining({ isAdmin: true, isActive: false }));
  });

  it('answers an unknown id with NOT_FOUND', async () => {
    const { service } = setup();
    expect(await codeOf(service.adminUpdate('nope', { isActive: false }))).toBe('NOT_FOUND');
  });
});

describe('UsersService.findOrCreateFromOAuth', () => {
  const identity = (over: Partial<OAuthIdentity> = {}): OAuthIdentity => ({
    provider: 'google',
    oauthId: 'sub-1',
    email: 'ada@example.com',
    emailVerified: true,
    fullName: 'Ada Lovelace',
    avatarUrl: 'https://img.example.com/ada.png',
    ...over,
  });

  it('creates a new user with the provider, id, name and avatar', async () => {
    const { repo, service } = setup();
    const user = await service.findOrCreateFromOAuth(identity({ email: 'Ada@Example.com' }));
    expect(user).toEqual(
      expect.objectContaining({
        email: 'ada@example.com',
        fullName: 'Ada Lovelace',
        oauthProvider: 'google',
        oauthId: 'sub-1',
        avatarUrl: 'https://img.example.com/ada.png',
        hashedPassword: null,
      }),
    );
    expect(repo.rows).toHaveLength(1);
  });

  it('falls back to the e-mail local part when the provider gives no name', async () => {
    const { service } = setup();
    expect((await service.findOrCreateFromOAuth(identity({ fullName: '  ' }))).fullName).toBe('ada');
  });

  it('links an existing account with the same verified e-mail, keeping its password and name', async () => {
    const { repo, service } = setup();
    const existing = repo.seed({ email: 'ada@example.com', fullName: 'Countess', hashedPassword: 'h' });
    const user = await service.findOrCreateFromOAuth(identity());
    expect(user).toBe(existing);
    expect(existing).toEqual(
      expect.objectContaining({
        oauthProvider: 'google',
        oauthId: 'sub-1',
        hashedPassword: 'h',
        fullName: 'Countess',
        avatarUrl: 'https://img.example.com/ada.png',
      }),
    );
    expect(repo.rows).toHaveLength(1);
  });

  it('refuses an unverified or missing e-mail (OAUTH_EMAIL_UNVERIFIED) and links nothing', async () => {
    const { repo, service } = setup();
    const existing = repo.seed({ email: 'ada@example.com' });
    expect(await codeOf(service.findOrCreateFromOAuth(identity({ emailVerified: false })))).toBe(
      'OAUTH_EMAIL_UNVERIFIED',
    );
    expect(await codeOf(service.findOrCreateFromOAuth(identity({ email: null, emailVerified: true })))).toBe(
      'OAUTH_EMAIL_UNVERIFIED',
    );
    expect(existing).toEqual(expect.objectContaining({ oauthProvider: null, oauthId: null }));
    expect(repo.rows).toHaveLength(1);
  });

  it('finds an already linked account by provider id, whatever the e-mail says now', async () => {
    const { repo, service } = setup();
    const linked = repo.seed({
      email: 'old@example.com',
      oauthProvider: 'github',
      oauthId: '42',
      avatarUrl: 'https://a/old.png',
    });
    const user = await service.findOrCreateFromOAuth(
      identity({
        provider: 'github',
        oauthId: '42',
        email: 'changed@example.com',
        emailVerified: false,
        avatarUrl: 'https://a/new.png',
      }),
    );
    expect(user).toBe(linked);
    // an avatar the user already has is kept
    expect(linked.avatarUrl).toBe('https://a/old.png');
    expect(linked.email).toBe('old@example.com');
  });

  it('fills a missing avatar of a linked account', async () => {
    const { repo, service } = setup();
    const linked = repo.seed({ oauthProvider: 'google', oauthId: 'sub-1' });
    await service.findOrCreateFromOAuth(identity());
    expect(linked.avatarUrl).toBe('https://img.example.com/ada.png');
  });

  it('refuses a deactivated account (USER_INACTIVE) without linking it or touching it', async () => {
    const { repo, service } = setup();
    const byEmail = repo.seed({
      email: 'ada@example.com',
      isActive: false,
      oauthProvider: 'github',
      oauthId: '7',
    });
    expect(await codeOf(service.findOrCreateFromOAuth(identity()))).toBe('USER_INACTIVE');
    expect(byEmail).toEqual(
      expect.objectContaining({ oauthProvider: 'github', oauthId: '7', avatarUrl: null }),
    );
    const linked = repo.seed({
      email: 'b@example.com',
      isActive: false,
      oauthProvider: 'google',
      oauthId: 'sub-2',
    });
    expect(await codeOf(service.findOrCreateFromOAuth(identity({ oauthId: 'sub-2' })))).toBe('USER_INACTIVE');
    expect(linked.avatarUrl).toBeNull();
    expect(repo.saves).toBe(0);
  });

  it('does not mix up providers: the same id at another provider is another account', async () => {
    const { repo, service } = setup();
    repo.seed({ email: 'gh@example.com', oauthProvider: 'github', oauthId: 'sub-1' });
    const user = await service.findOrCreateFromOAuth(identity());
    expect(user.email).toBe('ada@example.com');
    expect(repo.rows).toHaveLength(2);
  });
});

describe('UsersService.createOrPromoteAdmin', () => {
  it('creates an admin, or promotes and re-activates an existing user without touching the password', async () => {
    const { repo, service } = setup();
    const created = await service.createOrPromoteAdmin('Boss@Example.com', 'hash', 'Boss');
    expect(created.created).toBe(true);
    expect(created.user).toEqual(
      expect.objectContaining({ email: 'boss@example.com', isAdmin: true, hashedPassword: 'hash' }),
    );
    const existing = repo.seed({ email: 'old@example.com', isActive: false, hashedPassword: 'old-hash' });
    const promoted = await service.createOrPromoteAdmin('old@example.com', 'ignored', 'Ignored');
    expect(promoted.created).toBe(false);
    expect(existing).toEqual(
      expect.objectContaining({ isAdmin: true, isActive: true, hashedPassword: 'old-hash' }),
    );
  });
});
