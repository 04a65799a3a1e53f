import { inputJson, rememberInputText, stringifyWithInput } from './input-json';

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

describe('rememberInputText', () => {
  const remembered = (text: string) => {
    const body = JSON.parse(text) as { input: unknown };
    rememberInputText(text, body.input);
    return inputJson(body.input);
  };

  it('takes the input as sent from a {"input": ...} body', () => {
    expect(remembered('{"input":[[1,2.50,-3E-7,4]]}')).toBe('[[1,2.50,-3E-7,4]]');
    expect(remembered(' \n{ "input" :\t[ [1, 2] ,[3,4] ] }\r\n')).toBe('[ [1, 2] ,[3,4] ]');
    expect(remembered('{"input":{"x":[[1]],"y":["]}\\"[{"]}}')).toBe('{"x":[[1]],"y":["]}\\"[{"]}');
  });

  it('leaves any other shape to JSON.stringify', () => {
    // a duplicated key: JSON.parse keeps the last value, the body's text holds both
    expect(remembered('{"input":[1],"input":[2]}')).toBe('[2]');
    // another key after the input
    expect(remembered('{"input":[1],"other":1}')).toBe('[1]');
    // a key spelled with an escape
    expect(remembered('{"\\u0069nput":[ 1 ]}')).toBe('[1]');
    // the input is not an array or object
    expect(remembered('{"input":"a b"}')).toBe('"a b"');
    // the key is not first
    expect(remembered('{"other":1,"input":[ 1 ]}')).toBe('[1]');
  });

  it('is valid JSON with the parsed value for every remembered text', () => {
    const texts = ['{"input":[["a\\"b]", "\\\\", "[", "{"], [1e3, -0, 0.1]]}', '{"input":{"a":{"b":[{}]}} }'];
    for (const text of texts) {
      const body = JSON.parse(text) as { input: unknown };
      rememberInputText(text, body.input);
      expect(JSON.parse(inputJson(body.input))).toEqual(body.input);
    }
  });
});
