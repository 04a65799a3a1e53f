import { ApiKeyCache, CachedApiKey } from './api-key-cache';

const facts = (keyId: string): CachedApiKey => ({
  keyId,
  userId: 'u',
  name: 'n',
  prefix: 'mp_abc',
  expiresAt: null,
  createdAt: new Date(0),
  lastUsedAt: null,
});

describe('ApiKeyCache', () => {
  it('serves an entry only under the epoch it was stored under', () => {
    const cache = new ApiKeyCache(30_000, 10);
    cache.set('h', facts('k'), '3', 0);
    expect(cache.get('h', '3', 1)?.keyId).toBe('k');
    expect(cache.get('h', '4', 2)).toBeUndefined();
    expect(cache.get('h', '3', 3)).toBeUndefined();
  });

  it('never moves back to an older epoch read by a slower request', () => {
    const cache = new ApiKeyCache(30_000, 10);
    cache.set('h', facts('k'), '5', 0);
    // A request that read epoch 4 before a revocation finishes after one that read 5.
    cache.set('stale', facts('s'), '4', 1);
    expect(cache.get('stale', '4', 2)).toBeUndefined();
    expect(cache.get('h', '5', 2)?.keyId).toBe('k');
  });

  it('forgets entries after the TTL', () => {
    const cache = new ApiKeyCache(1000, 10);
    cache.set('h', facts('k'), '0', 0);
    expect(cache.get('h', '0', 999)).toBeDefined();
    expect(cache.get('h', '0', 2000)).toBeUndefined();
  });

  it('evicts the least recently used entry beyond its size', () => {
    const cache = new ApiKeyCache(30_000, 2);
    cache.set('a', facts('a'), '0', 0);
    cache.set('b', facts('b'), '0', 0);
    cache.get('a', '0', 1);
    cache.set('c', facts('c'), '0', 2);
    expect(cache.size).toBe(2);
    expect(cache.get('b', '0', 3)).toBeUndefined();
    expect(cache.get('a', '0', 3)).toBeDefined();
    expect(cache.get('c', '0', 3)).toBeDefined();
  });
});
