import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import { parseInstant } from '../common/instant';
import { mapPage, Page, PageQuery } from '../common/pagination';
import { inRequestContext } from '../database/request-context';
import { AccessEpoch } from '../redis/redis.module';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { ApiKey } from './api-key.entity';
import { API_KEY_PREFIX, displayPrefix, hashApiKey, isWellFormedApiKey } from './api-key-format';
import { ApiKeyCache, CachedApiKey, UserSnapshot } from './api-key-cache';
import { ApiKeyClock, ApiKeyGenerator } from './api-key-providers';
import { ApiKeysRepository } from './api-keys.repository';
import {
  ApiKeyResponseDto,
  CreateApiKeyDto,
  CreatedApiKeyResponseDto,
  toApiKeyResponse,
  toCreatedApiKeyResponse,
} from './dto/api-key.dto';

export { API_KEY_PREFIX };

/** Active, unexpired keys a user may hold at once. */
export const MAX_ACTIVE_API_KEYS = 50;
/** `last_used_at` is written at most this often per key. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** A key as presented by a request: its hash (null when malformed) and the id it had when last cached. */
export interface PresentedKey {
  keyHash: string | null;
  cachedKeyId?: string;
}

function invalidKey(): AppError {
  return new AppError('INVALID_API_KEY', 'Invalid, revoked or expired API key');
}

@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly users: UsersService,
    private readonly generator: ApiKeyGenerator,
    private readonly clock: ApiKeyClock,
    private readonly cache: ApiKeyCache,
    /** Revoking a key bumps it, which empties every instance's key cache. */
    private readonly revocations: AccessEpoch,
  ) {}

  async create(auth: AuthContext, dto: CreateApiKeyDto): Promise<CreatedApiKeyResponseDto> {
    const now = this.clock.now();
    const expiresAt =
      dto.expiresAt === undefined || dto.expiresAt === null ? null : parseInstant('expiresAt', dto.expiresAt);
    if (expiresAt && expiresAt.getTime() <= now.getTime()) {
      throw new AppError('VALIDATION_FAILED', 'expiresAt must be in the future');
    }
    const key = this.generator.generate();
    const apiKey = await this.keys.insertWithinLimit(
      {
        userId: auth.user.id,
        keyHash: hashApiKey(key),
        prefix: displayPrefix(key),
        name: dto.name,
        expiresAt,
      },
      MAX_ACTIVE_API_KEYS,
      now,
    );
    if (!apiKey) {
      throw new AppError(
        'API_KEY_LIMIT',
        `You already have ${MAX_ACTIVE_API_KEYS} active API keys; revoke one before creating another`,
      );
    }
    return toCreatedApiKeyResponse(apiKey, key);
  }

  async list(auth: AuthContext, page: PageQuery): Promise<Page<ApiKeyResponseDto>> {
    return mapPage(await this.keys.listOwned(auth.user.id, page), toApiKeyResponse);
  }

  /**
   * Revokes one of the caller's keys (another user's key is a 404). Idempotent, so a client whose revocation
   * could not be announced to the other instances (503) can simply retry.
   */
  async revoke(auth: AuthContext, id: string): Promise<void> {
    const apiKey = await this.keys.findOwned(auth.user.id, id);
    if (!apiKey) throw AppError.notFound('API key');
    await this.keys.deactivate(apiKey.id);
    this.cache.delete(apiKey.keyHash);
    try {
      await this.revocations.bump();
    } catch (error) {
      this.logger.error({ err: error, apiKeyId: apiKey.id }, 'Could not announce an API key revocation');
      throw new AppError(
        'DEPENDENCY_UNAVAILABLE',
        'The key is revoked, but other instances could not be told yet; retry the request',
      );
    }
  }

  /**
   * Resolves a presented key to its user. A malformed key is refused before any lookup. The key's facts may
   * come from the cache (valid only under the current access epoch); the user is always read fresh, so the
   * AuthContext holds a managed entity the request may use in its own writes. Every refusal is the same 401
   * except a deactivated user.
   */
  async authenticate(rawKey: string): Promise<AuthContext> {
    const { keyHash } = this.present(rawKey);
    if (keyHash === null) throw invalidKey();
    return this.resolve(keyHash, false, await this.revocations.current());
  }

  /**
   * The same checks for the prediction fast path, which runs outside Nest's request context and only reads the
   * user's id and flags: the user comes from the cache too, as a plain snapshot (never an entity to write with).
   * A warm key costs one Redis read (the epoch) and no database round trip; deactivating the user, changing their
   * admin flag or revoking the key bumps the epoch, so each still counts from the next request on. `epoch` is
   * the caller's read of AccessEpoch for this request (null: Redis unreachable, bypass the cache).
   */
  async authenticateSnapshot(key: PresentedKey, epoch: string | null): Promise<AuthContext> {
    if (key.keyHash === null) throw invalidKey();
    return this.resolve(key.keyHash, true, epoch);
  }

  /**
   * A presented key checked for form and hashed, once per request. `cachedKeyId` is the key's id as last cached,
   * without any check: it lets the fast path count the request against the key's throttle while it reads the
   * epoch, in one Redis round trip. `authenticateSnapshot` still decides whether the key is valid.
   */
  present(rawKey: string): PresentedKey {
    if (!isWellFormedApiKey(rawKey)) return { keyHash: null };
    const keyHash = hashApiKey(rawKey);
    return { keyHash, cachedKeyId: this.cache.peek(keyHash)?.keyId };
  }

  private async resolve(keyHash: string, snapshot: boolean, epoch: string | null): Promise<AuthContext> {
    const now = this.clock.now();

    let facts = epoch === null ? undefined : this.cache.get(keyHash, epoch, now.getTime());
    let user: User | UserSnapshot | null = null;
    if (!facts) {
      const apiKey = await this.lookup(keyHash);
      if (!apiKey || !apiKey.isActive) throw invalidKey();
      user = apiKey.user;
      facts = {
        keyId: apiKey.id,
        userId: apiKey.user.id,
        name: apiKey.name,
        prefix: apiKey.prefix,
        expiresAt: apiKey.expiresAt,
        createdAt: apiKey.createdAt,
        lastUsedAt: apiKey.lastUsedAt,
        user: toUserSnapshot(apiKey.user),
      };
      if (epoch !== null) this.cache.set(keyHash, facts, epoch, now.getTime());
      if (snapshot) user = facts.user ?? null;
    } else if (snapshot && facts.user) {
      user = facts.user;
    } else {
      user = await this.findUser(facts.userId);
    }

    if (facts.expiresAt && facts.expiresAt.getTime() <= now.getTime()) throw invalidKey();
    if (!user) throw invalidKey();
    if (!user.isActive) throw new AppError('USER_INACTIVE', 'This account is deactivated');

    if (!facts.lastUsedAt || now.getTime() - facts.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      await this.touch(facts.keyId, now);
      facts.lastUsedAt = now;
    }
    // A snapshot is typed as the entity for the AuthContext; the fast path reads only id, email and the flags.
    return { user: user as User, apiKey: this.detachedKey(facts, user as User) };
  }

  // The three database reads and writes below open a request context of their own when called outside one (the
  // prediction fast path); inside a Nest request they use the request's.

  private lookup(keyHash: string): Promise<ApiKey | null> {
    return inRequestContext(this.keys.getEntityManager(), () => this.keys.findByHashWithUser(keyHash));
  }

  private findUser(userId: string): Promise<User | null> {
    return inRequestContext(this.keys.getEntityManager(), () => this.users.findById(userId));
  }

  private touch(keyId: string, now: Date): Promise<void> {
    return inRequestContext(this.keys.getEntityManager(), () =>
      this.keys.touchLastUsed(keyId, now, LAST_USED_RESOLUTION_MS),
    );
  }

  /** The AuthContext's view of the key: a plain snapshot, not an entity the request could flush by accident. */
  private detachedKey(facts: CachedApiKey, user: User): ApiKey {
    const snapshot: Omit<ApiKey, 'keyHash'> = {
      id: facts.keyId,
      user,
      name: facts.name,
      prefix: facts.prefix,
      isActive: true,
      lastUsedAt: facts.lastUsedAt,
      expiresAt: facts.expiresAt,
      createdAt: facts.createdAt,
    };
    return snapshot as ApiKey;
  }
}

/** The fields of a user the fast path reads; see UserSnapshot. */
export function toUserSnapshot(user: User): UserSnapshot {
  return {
    id: user.id,
    email: user.email,
    fullName: user.fullName,
    isActive: user.isActive,
    isAdmin: user.isAdmin,
  };
}
