import { randomBytes } from 'node:crypto';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import type { User } from '../users/user.entity';
import type { UsersService } from '../users/users.service';
import type { ApiKey } from './api-key.entity';
import { ApiKeyCache } from './api-key-cache';
import { generateApiKey, hashApiKey } from './api-key-format';
import type { AccessEpoch } from '../redis/redis.module';
import type { ApiKeysRepository, NewApiKey } from './api-keys.repository';
import { ApiKeysService, LAST_USED_RESOLUTION_MS, MAX_ACTIVE_API_KEYS } from './api-keys.service';

const T0 = new Date('2026-01-01T00:00:00Z');

function makeUser(overrides: Partial<User> = {}): User {
  return { id: 'user-1', isActive: true, isAdmin: false, ...overrides } as User;
}

/** What MikroORM's @EnsureRequestContext needs from a repository to open a context outside a request. */
const fakeEntityManager = {
  name: 'default',
  fork(): unknown {
    return fakeEntityManager;
  },
};

class FakeKeys {
  rows: ApiKey[] = [];
  getEntityManager(): unknown {
    return fakeEntityManager;
  }
  lookups = 0;
  touches: Array<{ id: string; at: Date }> = [];
  findByHashWithUser(keyHash: string): Promise<ApiKey | null> {
    this.lookups += 1;
    return Promise.resolve(this.rows.find((r) => r.keyHash === keyHash) ?? null);
  }
  findOwned(userId: string, id: string): Promise<ApiKey | null> {
    return Promise.resolve(this.rows.find((r) => r.id === id && r.user.id === userId) ?? null);
  }
  insertWithinLimit(data: NewApiKey, max: number, now: Date): Promise<ApiKey | null> {
    const active = this.rows.filter((r) => r.user.id === data.userId && r.isActive).length;
    if (active >= max) return Promise.resolve(null);
    const row = {
      id: `key-${this.rows.length + 1}`,
      user: { id: data.userId } as User,
      keyHash: data.keyHash,
      prefix: data.prefix,
      name: data.name,
      isActive: true,
      lastUsedAt: null,
      expiresAt: data.expiresAt,
      createdAt: now,
    } as ApiKey;
    this.rows.push(row);
    return Promise.resolve(row);
  }
  deactivate(id: string): Promise<void> {
    const row = this.rows.find((r) => r.id === id);
    if (row) row.isActive = false;
    return Promise.resolve();
  }
  touchLastUsed(id: string, now: Date, resolutionMs: number): Promise<void> {
    const row = this.rows.find((r) => r.id === id)!;
    if (row.lastUsedAt && now.getTime() - row.lastUsedAt.getTime() < resolutionMs) return Promise.resolve();
    row.lastUsedAt = now;
    this.touches.push({ id, at: now });
    return Promise.resolve();
  }
}

class FakeUsers {
  users = new Map<string, User>();
  reads = 0;
  findById(id: string): Promise<User | null> {
    this.reads += 1;
    return Promise.resolve(this.users.get(id) ?? null);
  }
}

class FakeClock {
  current = T0;
  now(): Date {
    return this.current;
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

class FakeRevocations {
  epoch: string | null = '0';
  reads = 0;
  failBump = false;
  current(): Promise<string | null> {
    this.reads += 1;
    return Promise.resolve(this.epoch);
  }
  bump(): Promise<void> {
    if (this.failBump) return Promise.reject(new Error('redis down'));
    this.epoch = String(Number(this.epoch ?? '0') + 1);
    return Promise.resolve();
  }
}

function setup() {
  const keys = new FakeKeys();
  const users = new FakeUsers();
  const clock = new FakeClock();
  const revocations = new FakeRevocations();
  const generated: string[] = [];
  const generator = {
    generate: () => {
      const key = generateApiKey(randomBytes);
      generated.push(key);
      return key;
    },
  };
  const service = new ApiKeysService(
    keys as unknown as ApiKeysRepository,
    users as unknown as UsersService,
    generator,
    clock,
    new ApiKeyCache(),
    revocations as unknown as AccessEpoch,
  );
  const user = makeUser();
  users.users.set(user.id, user);
  const auth: AuthContext = { user };
  return { service, keys, users, clock, revocations, generated, user, auth };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(AppError);
  await expect(promise).rejects.toMatchObject({ code });
}

/** A stored key whose user is the given user, as findByHashWithUser returns it. */
async function issue(ctx: ReturnType<typeof setup>, expiresAt?: string): Promise<string> {
  const created = await ctx.service.create(ctx.auth, { name: 'k', expiresAt });
  const row = ctx.keys.rows.find((r) => r.id === created.id)!;
  row.user = ctx.user;
  return created.key;
}

describe('ApiKeysService', () => {
  describe('create', () => {
    it('stores the SHA-256 and a short prefix, and returns the key once', async () => {
      const ctx = setup();
      const created = await ctx.service.create(ctx.auth, { name: 'ci' });
      expect(created.key).toBe(ctx.generated[0]);
      const row = ctx.keys.rows[0];
      expect(row.keyHash).toBe(hashApiKey(created.key));
      expect(row.prefix).toBe(created.key.slice(0, 10));
      expect(created).toEqual({
        id: row.id,
        name: 'ci',
        key: created.key,
        prefix: row.prefix,
        expiresAt: null,
        createdAt: T0,
      });
    });

    it('refuses an expiry that is not in the future', async () => {
      const ctx = setup();
      await expectCode(
        ctx.service.create(ctx.auth, { name: 'x', expiresAt: T0.toISOString() }),
        'VALIDATION_FAILED',
      );
      expect(ctx.keys.rows).toHaveLength(0);
    });

    it(`refuses the key beyond ${MAX_ACTIVE_API_KEYS} active ones with API_KEY_LIMIT`, async () => {
      const ctx = setup();
      for (let i = 0; i < MAX_ACTIVE_API_KEYS; i++) await ctx.service.create(ctx.auth, { name: `k${i}` });
      await expectCode(ctx.service.create(ctx.auth, { name: 'more' }), 'API_KEY_LIMIT');
    });
  });

  describe('authenticate', () => {
    it('refuses malformed keys without a database or Redis lookup', async () => {
      const ctx = setup();
      const valid = generateApiKey(randomBytes);
      for (const bad of [
        '',
        'mp_x',
        valid.slice(0, -1) + (valid.endsWith('a') ? 'b' : 'a'),
        `${valid}x`,
        valid.replace('mp_', 'mq_'),
      ]) {
        await expectCode(ctx.service.authenticate(bad), 'INVALID_API_KEY');
      }
      expect(ctx.keys.lookups).toBe(0);
      expect(ctx.users.reads).toBe(0);
      expect(ctx.revocations.reads).toBe(0);
    });

    it('refuses an unknown or revoked key', async () => {
      const ctx = setup();
      await expectCode(ctx.service.authenticate(generateApiKey(randomBytes)), 'INVALID_API_KEY');
      const key = await issue(ctx);
      ctx.keys.rows[0].isActive = false;
      await expectCode(ctx.service.authenticate(key), 'INVALID_API_KEY');
    });

    it('resolves to the user and key, caching the key lookup but reading the user every time', async () => {
      const ctx = setup();
      const key = await issue(ctx);
      const first = await ctx.service.authenticate(key);
      expect(first.user).toBe(ctx.user);
      expect(first.apiKey).toEqual(
        expect.objectContaining({ id: ctx.keys.rows[0].id, name: 'k', isActive: true }),
      );
      expect(first.apiKey).not.toHaveProperty('keyHash');
      await ctx.service.authenticate(key);
      await ctx.service.authenticate(key);
      expect(ctx.keys.lookups).toBe(1);
      expect(ctx.users.reads).toBe(2);
    });

    it('looks the key up again once the revocation epoch moves', async () => {
      const ctx = setup();
      const key = await issue(ctx);
      await ctx.service.authenticate(key);
      ctx.keys.rows[0].isActive = false; // revoked by another instance...
      await ctx.service.authenticate(key); // ...still cached here until it says so
      await ctx.revocations.bump();
      await expectCode(ctx.service.authenticate(key), 'INVALID_API_KEY');
    });

    it('goes to the database every time when Redis cannot be asked', async () => {
      const ctx = setup();
      const key = await issue(ctx);
      ctx.revocations.epoch = null;
      await ctx.service.authenticate(key);
      await ctx.service.authenticate(key);
      expect(ctx.keys.lookups).toBe(2);
    });

    it('refuses a deactivated user even while the key lookup is cached', async () => {
      const ctx = setup();
      const key = await issue(ctx);
      await ctx.service.authenticate(key);
      ctx.users.users.set(ctx.user.id, makeUser({ isActive: false }));
      await expectCode(ctx.service.authenticate(key), 'USER_INACTIVE');
    });

    it('refuses an expired key even while the key lookup is cached', async () => {
      const ctx = setup();
      const key = await issue(ctx, new Date(T0.getTime() + 5000).toISOString());
      await ctx.service.authenticate(key);
      ctx.clock.advance(5000);
      await expectCode(ctx.service.authenticate(key), 'INVALID_API_KEY');
    });

    it('writes last_used_at on first use and then at most once a minute', async () => {
      const ctx = setup();
      const key = await issue(ctx);
      await ctx.service.authenticate(key);
      expect(ctx.keys.touches).toEqual([{ id: ctx.keys.rows[0].id, at: T0 }]);
      ctx.clock.advance(LAST_USED_RESOLUTION_MS - 1);
      await ctx.service.authenticate(key);
      expect(ctx.keys.touches).toHaveLength(1);
      ctx.clock.advance(1);
      await ctx.service.authenticate(key);
      expect(ctx.keys.touches).toHaveLength(2);
    });
  });

  describe('revoke', () => {
    it('deactivates the key and announces the revocation', async () => {
      const ctx = setup();
      const created = await ctx.service.create(ctx.auth, { name: 'k' });
      await ctx.service.revoke(ctx.auth, created.id);
      expect(ctx.keys.rows[0].isActive).toBe(false);
      expect(ctx.revocations.epoch).toBe('1');
    });

    it("answers 404 for another user's key", async () => {
      const ctx = setup();
      const created = await ctx.service.create(ctx.auth, { name: 'k' });
      await expectCode(
        ctx.service.revoke({ user: makeUser({ id: 'someone-else' }) }, created.id),
        'NOT_FOUND',
      );
      expect(ctx.keys.rows[0].isActive).toBe(true);
    });

    it('answers 503 when the revocation cannot be announced, after revoking in the database', async () => {
      const ctx = setup();
      const created = await ctx.service.create(ctx.auth, { name: 'k' });
      ctx.revocations.failBump = true;
      await expectCode(ctx.service.revoke(ctx.auth, created.id), 'DEPENDENCY_UNAVAILABLE');
      expect(ctx.keys.rows[0].isActive).toBe(false);
    });
  });
});
