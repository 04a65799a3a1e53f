import { uuid7 } from './uuid7';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuid7', () => {
  it('is an RFC 9562 version 7 UUID whose first 48 bits are the given milliseconds', () => {
    const now = Date.UTC(2026, 10, 26, 16, 30, 0, 123);
    const id = uuid7(now);
    expect(id).toMatch(V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
  });

  it('sorts by time across milliseconds, and does not repeat', () => {
    const base = Date.now();
    const ids = Array.from({ length: 5000 }, (_, i) => uuid7(base + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 10; i < ids.length; i += 10) expect(ids[i] > ids[i - 1]).toBe(true);
    for (const id of ids) expect(id).toMatch(V7);
  });

  it('spreads its random bits (no byte stuck across many ids)', () => {
    const seen = new Set(Array.from({ length: 2000 }, () => uuid7(0).slice(24)));
    expect(seen.size).toBe(2000);
  });
});
