import { Injectable } from '@nestjs/common';
import { EpochCache } from '../common/epoch-cache';

/**
 * The user a key belongs to, as the prediction fast path needs it: cached with the key, because deactivating a
 * user or changing their admin flag bumps the access epoch that every cache entry is filled under.
 */
export interface UserSnapshot {
  id: string;
  email: string;
  fullName: string;
  isActive: boolean;
  isAdmin: boolean;
}

/** What a key lookup needs to know again on the next request, without the key itself. */
export interface CachedApiKey {
  keyId: string;
  userId: string;
  name: string;
  prefix: string;
  expiresAt: Date | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** Set when the entry was filled from a lookup that read the user too. */
  user?: UserSnapshot;
}

export const API_KEY_CACHE_TTL_MS = 30_000;
export const API_KEY_CACHE_MAX_ENTRIES = 10_000;

/**
 * An in-process LRU of key hash → key facts, served only under the access epoch it was filled under (see
 * AccessEpoch) and for at most `ttlMs`.
 */
@Injectable()
export class ApiKeyCache extends EpochCache<CachedApiKey> {
  constructor(ttlMs = API_KEY_CACHE_TTL_MS, maxEntries = API_KEY_CACHE_MAX_ENTRIES) {
    super(ttlMs, maxEntries);
  }
}
