export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
  retryAfterMaxMs: number;
}

/**
 * Delay before retry number `retry` (1 = the first retry): exponential (base·2^(retry-1), capped at maxMs) with
 * "equal jitter" (between half and all of it), so receivers coming back are not hit by every sender at once. A
 * receiver's Retry-After wins when longer, up to retryAfterMaxMs.
 */
export function retryDelayMs(
  retry: number,
  settings: BackoffSettings,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.round(exponential / 2 + random() * (exponential / 2));
  if (retryAfterMs === null) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, settings.retryAfterMaxMs));
}

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date = new Date()): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return null;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names its weekday and month; anything else (e.g. "-5", which Date.parse reads as a year) is junk.
  if (!/[a-z]{3}/i.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}
