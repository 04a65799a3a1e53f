import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { AppError } from '../common/app-error';
import type { AppConfig } from '../config/app.config';
import { REDIS, RedisKeys } from '../redis/redis.module';
import type { TokenPairDto } from './dto/auth.dto';

interface AccessClaims {
  sub: string;
  typ: 'access';
  iat: number;
  /** Issued-at in milliseconds (iat has only seconds). */
  ims?: number;
}

interface RefreshClaims {
  sub: string;
  typ: 'refresh';
  fam: string;
  jti: string;
  iat: number;
  ims?: number;
}

/**
 * Rotates `family` to `next` only if it still points at `expected`; on a mismatch (a reused refresh token) the
 * whole family is revoked, so a stolen token dies as soon as either party uses it twice.
 */
const ROTATE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
if current then redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Access tokens are short-lived JWTs. Refresh tokens are JWTs too, but each works once: Redis holds the one live
 * token id per sign-in ("family"). Sessions issued before a password change are refused.
 */
@Injectable()
export class TokenService {
  private readonly jwtConfig: AppConfig['jwt'];

  constructor(
    private readonly jwt: JwtService,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    config: ConfigService<AppConfig, true>,
  ) {
    this.jwtConfig = config.get('jwt', { infer: true });
  }

  async issue(userId: string, family: string = randomUUID()): Promise<TokenPairDto> {
    const jti = randomUUID();
    const tokens = await this.signPair(userId, family, jti);
    await this.redis.set(this.keys.key('refresh', family), jti, 'EX', this.jwtConfig.refreshTtlSeconds);
    return tokens;
  }

  /** An access token and the refresh token `jti` of `family`, both for `userId`. */
  private async signPair(userId: string, family: string, jti: string): Promise<TokenPairDto> {
    const { accessTtlSeconds, refreshTtlSeconds, secret, refreshSecret } = this.jwtConfig;
    const accessToken = await this.jwt.signAsync(
      { sub: userId, typ: 'access', ims: Date.now() },
      { secret, expiresIn: accessTtlSeconds },
    );
    const refreshToken = await this.jwt.signAsync(
      { sub: userId, typ: 'refresh', fam: family, jti, ims: Date.now() },
      { secret: refreshSecret, expiresIn: refreshTtlSeconds },
    );
    return { accessToken, refreshToken, expiresIn: accessTtlSeconds, tokenType: 'Bearer' };
  }

  /** The user id of a valid access token; throws 401 otherwise. */
  async verifyAccess(token: string): Promise<{ userId: string }> {
    let claims: AccessClaims;
    try {
      claims = await this.jwt.verifyAsync<AccessClaims>(token, {
        secret: this.jwtConfig.secret,
        algorithms: ['HS256'],
      });
    } catch {
      throw new AppError('INVALID_TOKEN', 'Invalid or expired access token');
    }
    if (claims.typ !== 'access' || typeof claims.sub !== 'string') {
      throw new AppError('INVALID_TOKEN', 'Invalid or expired access token');
    }
    await this.assertNotRevoked(claims.sub, claims.ims ?? claims.iat * 1000);
    return { userId: claims.sub };
  }

  /** Uses up a refresh token and returns a new pair; a second use of the same token is 401. */
  async rotate(refreshToken: string): Promise<{ userId: string; tokens: TokenPairDto }> {
    let claims: RefreshClaims;
    try {
      claims = await this.jwt.verifyAsync<RefreshClaims>(refreshToken, {
        secret: this.jwtConfig.refreshSecret,
        algorithms: ['HS256'],
      });
    } catch {
      throw new AppError('INVALID_TOKEN', 'Invalid or expired refresh token');
    }
    if (claims.typ !== 'refresh' || !claims.fam || !claims.jti) {
      throw new AppError('INVALID_TOKEN', 'Invalid or expired refresh token');
    }
    await this.assertNotRevoked(claims.sub, claims.ims ?? claims.iat * 1000);
    const next = randomUUID();
    const rotated = await this.redis.eval(
      ROTATE_SCRIPT,
      1,
      this.keys.key('refresh', claims.fam),
      claims.jti,
      next,
      String(this.jwtConfig.refreshTtlSeconds),
    );
    if (rotated !== 1)
      throw new AppError('INVALID_TOKEN', 'Refresh token has already been used or was revoked');
    return { userId: claims.sub, tokens: await this.signPair(claims.sub, claims.fam, next) };
  }

  /** Every token of this user issued before now stops working (password change). */
  async revokeAllFor(userId: string): Promise<void> {
    const revokedAt = Date.now();
    await this.redis.set(
      this.keys.key('revoked-before', userId),
      String(revokedAt),
      'EX',
      this.jwtConfig.refreshTtlSeconds,
    );
    // Tokens issued in the same millisecond count as revoked; let the clock move on so the pair issued right
    // after a password change is not refused.
    while (Date.now() <= revokedAt) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  private async assertNotRevoked(userId: string, issuedAtMs: number): Promise<void> {
    const before = await this.redis.get(this.keys.key('revoked-before', userId));
    if (before !== null && issuedAtMs <= Number(before)) {
      throw new AppError('INVALID_TOKEN', 'This session was revoked; sign in again');
    }
  }
}
