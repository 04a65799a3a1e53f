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
