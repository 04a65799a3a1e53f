import { AppError } from '../common/app-error';
import type { PasswordHasher } from '../users/password-hasher';
import type { User } from '../users/user.entity';
import type { NewUser, UsersService } from '../users/users.service';
import { AuthService } from './auth.service';
import type { TokenService } from './token.service';

/** Resolves on a later tick, like the real (async) collaborator. */
const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);

function makeUser(over: Partial<User> = {}): User {
  return {
    id: 'u1',
    email: 'ada@example.com',
    fullName: 'Ada',
    hashedPassword: 'hash:right password',
    oauthProvider: null,
    oauthId: null,
    avatarUrl: null,
    isActive: true,
    isAdmin: false,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    ...over,
  };
}

/** Plain fakes: a user table in an array, a "hasher" that prefixes, a token service that records calls. */
function setup(users: User[] = []) {
  const calls: string[] = [];
  const usersFake = {
    findByEmail: (email: string) =>
      later(() => users.find((u) => u.email === email.trim().toLowerCase()) ?? null),
    findById: (id: string) => later(() => users.find((u) => u.id === id) ?? null),
    create: (data: NewUser) =>
      later(() => {
        const user = makeUser({
          id: `u${users.length + 1}`,
          email: data.email,
          fullName: data.fullName,
          hashedPassword: data.hashedPassword ?? null,
        });
        users.push(user);
        return user;
      }),
    setPasswordHash: (user: User, hash: string) =>
      later(() => {
        calls.push('setPasswordHash');
        user.hashedPassword = hash;
        return user;
      }),
  };
  const verified: (string | null | undefined)[] = [];
  const hasher = {
    hash: (password: string) => later(() => `hash:${password}`),
    verify: (hash: string | null | undefined, password: string) =>
      later(() => {
        verified.push(hash);
        return hash === `hash:${password}`;
      }),
  };
  const tokens = {
    issue: (userId: string) =>
      later(() => {
        calls.push(`issue:${userId}`);
        return {
          accessToken: `access-${userId}`,
          refreshToken: `refresh-${userId}`,
          expiresIn: 900,
          tokenType: 'Bearer' as const,
        };
      }),
    rotate: (refreshToken: string) =>
      later(() => {
        if (!refreshToken.startsWith('refresh-')) throw new AppError('INVALID_TOKEN', 'bad');
        const userId = refreshToken.slice('refresh-'.length);
        return {
          userId,
          tokens: { accessToken: 'a2', refreshToken: 'r2', expiresIn: 900, tokenType: 'Bearer' as const },
        };
      }),
    revokeAllFor: (userId: string) =>
      later(() => {
        calls.push(`revokeAllFor:${userId}`);
      }),
  };
  const service = new AuthService(
    usersFake as unknown as UsersService,
    hasher as unknown as PasswordHasher,
    tokens as unknown as TokenService,
  );
  return { service, users, calls, verified };
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

describe('AuthService', () => {
  describe('register', () => {
    it('hashes the password, creates the user and signs in', async () => {
      const { service, users } = setup();
      const res = await service.register({
        email: 'new@example.com',
        password: 'long password',
        fullName: 'New',
      });
      expect(users[0]?.hashedPassword).toBe('hash:long password');
      expect(res).toEqual(
        expect.objectContaining({
          accessToken: 'access-u1',
          refreshToken: 'refresh-u1',
          tokenType: 'Bearer',
        }),
      );
      expect(res.user).toEqual(expect.objectContaining({ id: 'u1', email: 'new@example.com' }));
      expect(res.user).not.toHaveProperty('hashedPassword');
    });

    it('refuses a taken e-mail with EMAIL_TAKEN', async () => {
      const { service, users } = setup([makeUser()]);
      expect(
        await codeOf(
          service.register({ email: 'ada@example.com', password: 'long password', fullName: 'X' }),
        ),
      ).toBe('EMAIL_TAKEN');
      expect(users).toHaveLength(1);
    });
  });

  describe('login', () => {
    it('signs in with the right password', async () => {
      const { service } = setup([makeUser()]);
      const res = await service.login({ email: 'ada@example.com', password: 'right password' });
      expect(res.accessToken).toBe('access-u1');
    });

    it('gives the same INVALID_CREDENTIALS for a wrong password and an unknown e-mail, verifying a hash both times', async () => {
      const { service, verified } = setup([makeUser()]);
      expect(await codeOf(service.login({ email: 'ada@example.com', password: 'wrong' }))).toBe(
        'INVALID_CREDENTIALS',
      );
      expect(await codeOf(service.login({ email: 'nobody@example.com', password: 'wrong' }))).toBe(
        'INVALID_CREDENTIALS',
      );
      // the unknown e-mail still goes through the hasher (which compares against a dummy hash): same timing
      expect(verified).toEqual(['hash:right password', undefined]);
    });

    it('refuses an OAuth-only account (no password) like a wrong password', async () => {
      const { service } = setup([makeUser({ hashedPassword: null })]);
      expect(await codeOf(service.login({ email: 'ada@example.com', password: 'anything' }))).toBe(
        'INVALID_CREDENTIALS',
      );
    });

    it('refuses a deactivated user only after the password was right', async () => {
      const { service } = setup([makeUser({ isActive: false })]);
      expect(await codeOf(service.login({ email: 'ada@example.com', password: 'right password' }))).toBe(
        'USER_INACTIVE',
      );
      expect(await codeOf(service.login({ email: 'ada@example.com', password: 'wrong' }))).toBe(
        'INVALID_CREDENTIALS',
      );
    });
  });

  describe('refresh', () => {
    it('returns the rotated pair with the user', async () => {
      const { service } = setup([makeUser()]);
      const res = await service.refresh('refresh-u1');
      expect(res).toEqual(
        expect.objectContaining({
          accessToken: 'a2',
          refreshToken: 'r2',
          user: expect.objectContaining({ id: 'u1' }),
        }),
      );
    });

    it('refuses a token whose user is gone (INVALID_TOKEN) or deactivated (USER_INACTIVE)', async () => {
      const { service } = setup([makeUser({ id: 'u9', isActive: false })]);
      expect(await codeOf(service.refresh('refresh-u1'))).toBe('INVALID_TOKEN');
      expect(await codeOf(service.refresh('refresh-u9'))).toBe('USER_INACTIVE');
      expect(await codeOf(service.refresh('garbage'))).toBe('INVALID_TOKEN');
    });
  });

  describe('changePassword', () => {
    it('refuses a wrong current password with FORBIDDEN and changes nothing', async () => {
      const user = makeUser();
      const { service, calls } = setup([user]);
      expect(
        await codeOf(service.changePassword(user, { currentPassword: 'wrong', newPassword: 'new password' })),
      ).toBe('FORBIDDEN');
      expect(user.hashedPassword).toBe('hash:right password');
      expect(calls).toEqual([]);
    });

    it('stores the new hash, revokes older sessions, then issues a fresh pair (in that order)', async () => {
      const user = makeUser();
      const { service, calls } = setup([user]);
      const res = await service.changePassword(user, {
        currentPassword: 'right password',
        newPassword: 'new password',
      });
      expect(user.hashedPassword).toBe('hash:new password');
      expect(calls).toEqual(['setPasswordHash', 'revokeAllFor:u1', 'issue:u1']);
      expect(res.accessToken).toBe('access-u1');
    });

    it('lets an OAuth-only account set a first password without a current one', async () => {
      const user = makeUser({ hashedPassword: null, oauthProvider: 'github', oauthId: '1' });
      const { service } = setup([user]);
      await service.changePassword(user, { currentPassword: '', newPassword: 'first password' });
      expect(user.hashedPassword).toBe('hash:first password');
    });
  });
});
