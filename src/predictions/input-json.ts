/**
 * The JSON text of a prediction's input, made once: the group commit writes it to `input_data` and the fast path
 * echoes it in the answer. For an MNIST image (784 numbers) one `JSON.stringify` is ~0.1 ms, for a genre14
 * batch (1 MB) several ms. Keyed weakly by the parsed input, so it goes with the request.
 */
const texts = new WeakMap<object, string>();

export function inputJson(input: unknown): string {
  if (input === null || typeof input !== 'object') return JSON.stringify(input) ?? 'null';
  let text = texts.get(input);
  if (text === undefined) {
    text = JSON.stringify(input);
    texts.set(input, text);
  }
  return text;
}

const MARKER = '\u0001mp-input\u0001';
const MARKED = `"input":${JSON.stringify(MARKER)}`;

/** `JSON.stringify(body)` of an object with an `input` key, reusing the input's text from `inputJson`. */
export function stringifyWithInput(body: { input: unknown }): string {
  const text = JSON.stringify({ ...body, input: MARKER });
  const at = text.indexOf(MARKED);
  if (at < 0) return JSON.stringify(body);
  return text.slice(0, at) + '"input":' + inputJson(body.input) + text.slice(at + MARKED.length);
}

/**
 * Remembers, as the text of `input`, its own characters in the request body it was parsed from, when the body is
 * `{"input": <array or object>}` and nothing else: then `inputJson` need not serialise again what the client sent
 * (for a genre14 row of 1 690 floats `JSON.stringify` cost more than `JSON.parse`). The slice is taken only when
 * it is one complete array or object that ends where the body's object ends (no quote in it, so no other key; or
 * a scan finds where it closes) — a duplicated key, a key written with escapes, or any other shape leaves the
 * text to `JSON.stringify`. The text is kept verbatim
 * (spacing, number spelling), which is what "the input exactly as it was sent" means.
 */
export function rememberInputText(bodyText: string, input: unknown): void {
  if (input === null || typeof input !== 'object' || texts.has(input)) return;
  const head = BODY_HEAD.exec(bodyText);
  if (!head) return;
  const start = head[0].length;
  let end = bodyText.length - 1;
  while (end > start && isSpace(bodyText.charCodeAt(end))) end--;
  if (bodyText.charCodeAt(end) !== 0x7d /* } */) return;
  end--;
  while (end > start && isSpace(bodyText.charCodeAt(end))) end--;
  // Without a quote after `"input":` there is no second key and no string to skip: the value runs to `end`
  // (JSON.parse accepted the body). Otherwise scan for where the value closes.
  if (bodyText.indexOf('"', start) !== -1 && closingOf(bodyText, start) !== end) return;
  texts.set(input, bodyText.slice(start, end + 1));
}

/** `{"input":` with any JSON whitespace, then the value's first character (an array or an object). */
const BODY_HEAD = /^[ \t\n\r]*\{[ \t\n\r]*"input"[ \t\n\r]*:[ \t\n\r]*(?=[[{])/;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** Index of the bracket closing the array or object that opens at `start` (strings skipped), or -1. */
function closingOf(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
