import type { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import type Redis from 'ioredis';
import { AppError } from '../common/app-error';
import type { AppConfig } from '../config/app.config';
import type { RedisKeys } from '../redis/redis.module';
import { TokenService } from './token.service';

/** Resolves on a later tick, like the real (async) collaborator. */
const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);

/** Just the Redis commands TokenService uses, over a Map; `eval` runs the rotate script's logic. */
class FakeRedis {
  readonly data = new Map<string, string>();
  get(key: string): Promise<string | null> {
    return later(() => {
      return this.data.get(key) ?? null;
    });
  }
  set(key: string, value: string): Promise<'OK'> {
    return later(() => {
      this.data.set(key, value);
      return 'OK';
    });
  }
  eval(_script: string, _keys: number, key: string, expected: string, next: string): Promise<number> {
    return later(() => {
      const current = this.data.get(key);
      if (current === expected) {
        this.data.set(key, next);
        return 1;
      }
      if (current !== undefined) this.data.delete(key);
      return 0;
    });
  }
}

const JWT = {
  secret: 'access-secret-for-unit-tests-000000000000',
  refreshSecret: 'refresh-secret-for-unit-tests-00000000000',
  accessTtlSeconds: 900,
  refreshTtlSeconds: 3600,
};

function setup() {
  const redis = new FakeRedis();
  const keys = { key: (...parts: string[]) => ['test', ...parts].join(':') } as RedisKeys;
  const config = { get: () => JWT } as unknown as ConfigService<AppConfig, true>;
  const jwt = new JwtService();
  const service = new TokenService(jwt, redis as unknown as Redis, keys, config);
  return { service, redis, jwt };
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

describe('TokenService', () => {
  it('issues an access token that verifies to its user, and a refresh token that does not', async () => {
    const { service } = setup();
    const pair = await service.issue('user-1');
    expect(pair).toEqual(expect.objectContaining({ expiresIn: 900, tokenType: 'Bearer' }));
    await expect(service.verifyAccess(pair.accessToken)).resolves.toEqual({ userId: 'user-1' });
    expect(await codeOf(service.verifyAccess(pair.refreshToken))).toBe('INVALID_TOKEN');
    expect(await codeOf(service.rotate(pair.accessToken))).toBe('INVALID_TOKEN');
  });

  it.each([
    ['garbage', () => 'garbage'],
    [
      'another secret',
      (jwt: JwtService) => jwt.sign({ sub: 'u', typ: 'access' }, { secret: 'x'.repeat(40), expiresIn: 60 }),
    ],
    [
      'an expired token',
      (jwt: JwtService) =>
        jwt.sign({ sub: 'u', typ: 'access', exp: Math.floor(Date.now() / 1000) - 5 }, { secret: JWT.secret }),
    ],
    [
      'a token without typ',
      (jwt: JwtService) => jwt.sign({ sub: 'u' }, { secret: JWT.secret, expiresIn: 60 }),
    ],
  ])('refuses %s as an access token', async (_label, make) => {
    const { service, jwt } = setup();
    expect(await codeOf(service.verifyAccess(make(jwt)))).toBe('INVALID_TOKEN');
  });

  it('rotates a refresh token exactly once; a reuse revokes the whole family', async () => {
    const { service } = setup();
    const first = await service.issue('user-1');
    const second = await service.rotate(first.refreshToken);
    expect(second.userId).toBe('user-1');
    await expect(service.verifyAccess(second.tokens.accessToken)).resolves.toEqual({ userId: 'user-1' });
    expect(await codeOf(service.rotate(first.refreshToken))).toBe('INVALID_TOKEN');
    // the reuse ended the family: the token handed out by the legitimate rotation is dead too
    expect(await codeOf(service.rotate(second.tokens.refreshToken))).toBe('INVALID_TOKEN');
  });

  it('keeps separate sign-ins (families) independent', async () => {
    const { service } = setup();
    const a = await service.issue('user-1');
    const b = await service.issue('user-1');
    await service.rotate(a.refreshToken);
    expect(await codeOf(service.rotate(a.refreshToken))).toBe('INVALID_TOKEN');
    await expect(service.rotate(b.refreshToken)).resolves.toEqual(
      expect.objectContaining({ userId: 'user-1' }),
    );
  });

  it('revokeAllFor kills earlier tokens of that user only, and a pair issued right after works', async () => {
    const { service } = setup();
    const before = await service.issue('user-1');
    const other = await service.issue('user-2');
    await service.revokeAllFor('user-1');
    const after = await service.issue('user-1');
    expect(await codeOf(service.verifyAccess(before.accessToken))).toBe('INVALID_TOKEN');
    expect(await codeOf(service.rotate(before.refreshToken))).toBe('INVALID_TOKEN');
    await expect(service.verifyAccess(after.accessToken)).resolves.toEqual({ userId: 'user-1' });
    await expect(service.rotate(after.refreshToken)).resolves.toEqual(
      expect.objectContaining({ userId: 'user-1' }),
    );
    await expect(service.verifyAccess(other.accessToken)).resolves.toEqual({ userId: 'user-2' });
  });
});
