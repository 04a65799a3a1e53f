export const MAX_CUSTOM_HEADERS = 20;
const MAX_NAME = 100;
const MAX_VALUE = 1024;
const MAX_TOTAL = 8192;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Hop-by-hop headers, `Expect` (no 100-continue handshake for a webhook; undici refuses it), and the ones the
 * sender itself sets. */
const FORBIDDEN = new Set([
  'connection',
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'user-agent',
]);

/** What is wrong with a webhook's custom headers, or null when they are acceptable. */
export function customHeadersProblem(headers: unknown): string | null {
  if (headers === null || headers === undefined) return null;
  if (typeof headers !== 'object' || Array.isArray(headers))
    return 'headers must be an object of name → value strings';
  const entries = Object.entries(headers as Record<string, unknown>);
  if (entries.length > MAX_CUSTOM_HEADERS) return `headers may have at most ${MAX_CUSTOM_HEADERS} entries`;
  let total = 0;
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name) || name.length > MAX_NAME)
      return `header name "${name.slice(0, MAX_NAME)}" is not a valid header name (≤ ${MAX_NAME} characters)`;
    if (seen.has(lower)) return `header "${name}" is given twice`;
    seen.add(lower);
    if (FORBIDDEN.has(lower) || lower.startsWith('webhook-'))
      return `header "${name}" cannot be set on a webhook`;
    if (typeof value !== 'string') return `header "${name}" must have a string value`;
    if (value.length > MAX_VALUE) return `header "${name}" is longer than ${MAX_VALUE} characters`;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value) || /[^\u0000-\u00ff]/.test(value)) {
      return `header "${name}" contains characters not allowed in a header value`;
    }
    total += name.length + value.length;
  }
  if (total > MAX_TOTAL) return `headers may total at most ${MAX_TOTAL} characters`;
  return null;
}
