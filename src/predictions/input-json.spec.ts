import { inputJson, stringifyWithInput } from './input-json';

describe('stringifyWithInput', () => {
  const bodies: Array<{ input: unknown; [key: string]: unknown }> = [
    { id: 'a', input: [[1, 2.5, -3e-7, 4]], output: { variable: [[0.25]] }, createdAt: new Date(0) },
    { id: 'b', input: { x: [[1]], 'input"': ['"input":"\u0001mp-input\u0001"'] }, output: { input: [1] } },
    { id: 'c', input: null, output: null },
    { id: 'd', input: ['\u0001mp-input\u0001'], output: '"input":1' },
    { input: 'plain string' },
  ];

  it.each(bodies.map((b) => [b.id ?? 'no id', b]))(
    'is byte-identical to JSON.stringify (%s)',
    (_id, body) => {
      expect(stringifyWithInput(body)).toBe(JSON.stringify(body));
      // The second time the input's text comes from the cache and must still be identical.
      expect(stringifyWithInput(body)).toBe(JSON.stringify(body));
    },
  );

  it('makes the text of an input once and reuses it for the same object', () => {
    const input = [[1, 2, 3]];
    const first = inputJson(input);
    input[0].push(4); // a later change is not seen: the text is made once per request's parsed input
    expect(inputJson(input)).toBe(first);
    expect(inputJson([[1, 2, 3]])).toBe('[[1,2,3]]');
  });
});
