import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import { mapPage, Page, PageQuery } from '../common/pagination';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { ApiKey } from './api-key.entity';
import { API_KEY_PREFIX, displayPrefix, hashApiKey, isWellFormedApiKey } from './api-key-format';
import { ApiKeyCache, CachedApiKey } from './api-key-cache';
import { ApiKeyClock, ApiKeyGenerator, ApiKeyRevocations } from './api-key-providers';
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
    private readonly revocations: ApiKeyRevocations,
  ) {}

  async create(auth: AuthContext, dto: CreateApiKeyDto): Promise<CreatedApiKeyResponseDto> {
    const now = this.clock.now();
    const expiresAt = dto.expiresAt === undefined || dto.expiresAt === null ? null : new Date(dto.expiresAt);
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
   * come from the cache (valid only under the current revocation epoch); the user is always read fresh, so
   * a deactivation counts from the next request on. Every refusal is the same 401 except a deactivated user.
   */
  async authenticate(rawKey: string): Promise<AuthContext> {
    if (!isWellFormedApiKey(rawKey)) throw invalidKey();
    const keyHash = hashApiKey(rawKey);
    const now = this.clock.now();
    const epoch = await this.revocations.current();

    let facts = epoch === null ? undefined : this.cache.get(keyHash, epoch, now.getTime());
    let user: User | null = null;
    if (!facts) {
      const apiKey = await this.keys.findByHashWithUser(keyHash);
      if (!apiKey || !apiKey.isActive) throw invalidKey();
      facts = {
        keyId: apiKey.id,
        userId: apiKey.user.id,
        name: apiKey.name,
        prefix: apiKey.prefix,
        expiresAt: apiKey.expiresAt,
        createdAt: apiKey.createdAt,
        lastUsedAt: apiKey.lastUsedAt,
      };
      user = apiKey.user;
      if (epoch !== null) this.cache.set(keyHash, facts, epoch, now.getTime());
    } else {
      user = await this.users.findById(facts.userId);
    }

    if (facts.expiresAt && facts.expiresAt.getTime() <= now.getTime()) throw invalidKey();
    if (!user) throw invalidKey();
    if (!user.isActive) throw new AppError('USER_INACTIVE', 'This account is deactivated');

    if (!facts.lastUsedAt || now.getTime() - facts.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      await this.keys.touchLastUsed(facts.keyId, now, LAST_USED_RESOLUTION_MS);
      facts.lastUsedAt = now;
    }
    return { user, apiKey: this.detachedKey(facts, user) };
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
