interface Entry<T> {
  value: T;
  epoch: string;
  storedAt: number;
}

/**
 * An in-process LRU whose entries are served only under the access epoch they were filled under (see
 * AccessEpoch) and for at most `ttlMs`. `set` must be given the epoch read *before* the database lookup that
 * produced the value, so a change that lands between the read and the lookup is never cached past its bump.
 */
export class EpochCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private lastEpoch: string | null = null;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, epoch: string, nowMs: number): T | undefined {
    this.observe(epoch);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.epoch !== epoch || epoch !== this.lastEpoch || nowMs - entry.storedAt >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert so Map order is least-recently-used first.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /**
   * The entry for `key` whatever its epoch or age, without refreshing it: only for work that may start before
   * the epoch is known and is checked against a proper `get` afterwards.
   */
  peek(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  set(key: string, value: T, epoch: string, nowMs: number): void {
    this.observe(epoch);
    if (epoch !== this.lastEpoch) return;
    this.entries.delete(key);
    this.entries.set(key, { value, epoch, storedAt: nowMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
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
