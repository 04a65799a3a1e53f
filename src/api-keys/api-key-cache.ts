import { Injectable } from '@nestjs/common';

/** What a key lookup needs to know again on the next request, without the key or its user's mutable state. */
export interface CachedApiKey {
  keyId: string;
  userId: string;
  name: string;
  prefix: string;
  expiresAt: Date | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

interface Entry {
  value: CachedApiKey;
  epoch: string;
  storedAt: number;
}

export const API_KEY_CACHE_TTL_MS = 30_000;
export const API_KEY_CACHE_MAX_ENTRIES = 10_000;

/**
 * An in-process LRU of key hash → key facts. An entry is served only under the revocation epoch it was filled
 * under (see ApiKeyRevocations) and for at most `ttlMs`; the user's active flag is never cached.
 */
@Injectable()
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private lastEpoch: string | null = null;

  constructor(
    private readonly ttlMs = API_KEY_CACHE_TTL_MS,
    private readonly maxEntries = API_KEY_CACHE_MAX_ENTRIES,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(keyHash: string, epoch: string, nowMs: number): CachedApiKey | undefined {
    this.observe(epoch);
    const entry = this.entries.get(keyHash);
    if (!entry) return undefined;
    if (entry.epoch !== epoch || epoch !== this.lastEpoch || nowMs - entry.storedAt >= this.ttlMs) {
      this.entries.delete(keyHash);
      return undefined;
    }
    // Re-insert so Map order is least-recently-used first.
    this.entries.delete(keyHash);
    this.entries.set(keyHash, entry);
    return entry.value;
  }

  /** `epoch` must be the value read before the database lookup that produced `value`. */
  set(keyHash: string, value: CachedApiKey, epoch: string, nowMs: number): void {
    this.observe(epoch);
    if (epoch !== this.lastEpoch) return;
    this.entries.delete(keyHash);
    this.entries.set(keyHash, { value, epoch, storedAt: nowMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  delete(keyHash: string): void {
    this.entries.delete(keyHash);
  }

  clear(): void {
    this.entries.clear();
  }

  /**
   * A newer epoch makes every entry stale: drop them all at once. Epochs only grow (Redis INCR), so a request
   * that read an older one while another had already seen a newer one never moves the cache backwards.
   */
  private observe(epoch: string): void {
    if (this.lastEpoch !== null && Number(epoch) <= Number(this.lastEpoch)) return;
    if (this.lastEpoch !== null) this.entries.clear();
    this.lastEpoch = epoch;
  }
}
