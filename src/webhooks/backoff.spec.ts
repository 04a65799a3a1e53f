import { parseRetryAfter, retryDelayMs } from './backoff';

const settings = { baseMs: 1000, maxMs: 60_000, retryAfterMaxMs: 10_000 };

describe('retryDelayMs', () => {
  it('doubles per retry, between half and all of the exponential step', () => {
    expect(retryDelayMs(1, settings, null, () => 0)).toBe(500);
    expect(retryDelayMs(1, settings, null, () => 1)).toBe(1000);
    expect(retryDelayMs(2, settings, null, () => 1)).toBe(2000);
    expect(retryDelayMs(4, settings, null, () => 0.5)).toBe(6000);
  });

  it('is capped at maxMs', () => {
    expect(retryDelayMs(20, settings, null, () => 1)).toBe(60_000);
    expect(retryDelayMs(20, settings, null, () => 0)).toBe(30_000);
  });

  it('spreads retries with jitter', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(3, settings)));
    expect(delays.size).toBeGreaterThan(10);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });

  it('honours a longer Retry-After, up to its cap', () => {
    expect(retryDelayMs(1, settings, 5000, () => 0)).toBe(5000);
    expect(retryDelayMs(1, settings, 3_600_000, () => 0)).toBe(10_000);
    expect(retryDelayMs(5, settings, 100, () => 1)).toBe(16_000);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
  });
});
