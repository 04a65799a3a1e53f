import { AppError } from '../common/app-error';
import { JsonSchema, TensorSpec } from './inference.types';
import {
  assertValidJsonSchema,
  compileInputValidator,
  deriveInputSchema,
  deriveOutputSchema,
  JSON_SCHEMA_DIALECT,
} from './json-schema';

const spec = (
  name: string,
  elementType: TensorSpec['elementType'],
  shape: TensorSpec['shape'],
): TensorSpec => ({
  name,
  elementType,
  shape,
});

describe('deriveInputSchema', () => {
  it('is a draft-07 object with every input required and nothing else', () => {
    const schema = deriveInputSchema([spec('x', 'int32', ['batch', 2]), spec('y', 'float32', ['batch', 2])]);
    expect(schema).toMatchObject({
      $schema: JSON_SCHEMA_DIALECT,
      type: 'object',
      required: ['x', 'y'],
      additionalProperties: false,
    });
    const validate = compileInputValidator(schema);
    expect(validate({ x: [[1, 2]], y: [[0.5, 1]] })).toBeNull();
    expect(validate({ x: [[1, 2]] })).toBe('missing input "y"');
    expect(validate({ x: [[1, 2]], y: [[1, 2]], z: 1 })).toBe('unknown input "z"');
    expect(validate({ x: [[1, 2.5]], y: [[1, 2]] })).toBe('input "x" at [0][1]: must be integer');
    expect(validate({ x: [], y: [[1, 2]] })).toBe('input "x": must NOT have fewer than 1 items');
  });

  it('lets a batch-of-1 model take N rows but pins the other fixed dims', () => {
    const schema = deriveInputSchema([spec('input', 'float32', [1, 4])]);
    const validate = compileInputValidator(schema);
    expect(validate({ input: [[1, 2, 3, 4]] })).toBeNull();
    expect(
      validate({
        input: [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
          [9, 10, 11, 12],
        ],
      }),
    ).toBeNull();
    expect(validate({ input: [[1, 2, 3]] })).toBe('input "input" at [0]: must NOT have fewer than 4 items');
    expect(validate({ input: [[1, 2, 3, 4, 5]] })).toBe(
      'input "input" at [0]: must NOT have more than 4 items',
    );
    expect(validate({ input: [[1, 2, 3, 'NaN']] })).toBe('input "input" at [0][3]: must be number');
    expect(validate({ input: [1, 2, 3, 4] })).toBe('input "input" at [0]: must be array');
  });

  it('keeps a fixed leading dim other than 1 exact', () => {
    const validate = compileInputValidator(deriveInputSchema([spec('input', 'float32', [4, 3])]));
    expect(validate({ input: [[1, 2, 3]] })).toBe('input "input": must NOT have fewer than 4 items');
  });

  it('maps element types to JSON types', () => {
    const validate = compileInputValidator(
      deriveInputSchema([
        spec('s', 'string', ['N']),
        spec('b', 'bool', ['N']),
        spec('u', 'uint8', ['N']),
        spec('l', 'int64', ['N']),
      ]),
    );
    expect(validate({ s: ['a'], b: [true], u: [255], l: [2 ** 40] })).toBeNull();
    expect(validate({ s: [1], b: [true], u: [255], l: [1] })).toBe('input "s" at [0]: must be string');
    expect(validate({ s: ['a'], b: [1], u: [255], l: [1] })).toBe('input "b" at [0]: must be boolean');
    expect(validate({ s: ['a'], b: [true], u: [256], l: [1] })).toBe('input "u" at [0]: must be <= 255');
    expect(validate({ s: ['a'], b: [true], u: [1], l: [0.5] })).toBe('input "l" at [0]: must be integer');
  });
});

describe('deriveOutputSchema', () => {
  it('describes ZipMap outputs as one {label: probability} object per row', () => {
    const schema = deriveOutputSchema(
      [spec('label', 'string', [1]), { name: 'probabilities', elementType: 'sequence', shape: [] }],
      { batchOfOne: true, zipMaps: { probabilities: ['A', 'B'] } },
    );
    const validate = compileInputValidator(schema);
    expect(
      validate({
        label: ['A', 'B'],
        probabilities: [
          { A: 1, B: 0 },
          { A: 0.25, B: 0.75 },
        ],
      }),
    ).toBeNull();
    expect(validate({ label: ['A'], probabilities: [{ A: 1 }] })).toBe(
      'input "probabilities" at [0]: must have required property \'B\'',
    );
  });
});

describe('compileInputValidator', () => {
  it('reuses the compiled validator for an equal schema', () => {
    const a = deriveInputSchema([spec('x', 'float32', ['N'])]);
    const b = JSON.parse(JSON.stringify(a));
    expect(compileInputValidator(a)({ x: [1] })).toBeNull();
    expect(compileInputValidator(b)({ x: ['1'] })).toBe('input "x" at [0]: must be number');
  });
});

/** The error `assertValidJsonSchema` refuses `schema` with, checked to be INVALID_SCHEMA. */
function schemaError(schema: unknown): AppError {
  let error: unknown;
  try {
    assertValidJsonSchema(schema);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe('INVALID_SCHEMA');
  return error as AppError;
}

describe('assertValidJsonSchema', () => {
  it('accepts a valid schema, including uploader-written ones with formats', () => {
    expect(() => assertValidJsonSchema(deriveInputSchema([spec('x', 'float32', ['N'])]))).not.toThrow();
    expect(() =>
      assertValidJsonSchema({
        type: 'object',
        properties: { when: { type: 'string', format: 'date-time' } },
      }),
    ).not.toThrow();
  });

  it.each([
    ['a non-object', [1, 2]],
    ['null', null],
    ['a bad type keyword', { type: 'tensor' }],
    ['a bad minItems', { type: 'array', minItems: -1 }],
    ['an unknown dialect', { $schema: 'https://example.com/not-a-dialect' }],
    ['an unresolvable $ref', { $ref: '#/definitions/missing' }],
  ])('refuses %s with INVALID_SCHEMA', (_what, schema) => {
    schemaError(schema);
  });
});

describe('uploader patterns (linear-time RE2 engine)', () => {
  const stringInput = (keywords: JsonSchema): JsonSchema => ({
    type: 'object',
    properties: { text: { type: 'string', ...keywords } },
  });

  it('answers a catastrophic-backtracking pattern on a long non-matching input (refused, not hung)', () => {
    // ^(a|a)+$ on "aaa…a!" takes exponential time on a backtracking engine: ~40 characters would block for hours.
    const schema = stringInput({ pattern: '^(a|a)+$' });
    assertValidJsonSchema(schema);
    const validate = compileInputValidator(schema);
    expect(validate({ text: `${'a'.repeat(5000)}!` })).toBe('input "text": must match pattern "^(a|a)+$"');
    expect(validate({ text: 'a'.repeat(5000) })).toBeNull();
  });

  it('runs patternProperties on the same engine', () => {
    const schema: JsonSchema = {
      type: 'object',
      patternProperties: { '^(a|a)+$': { type: 'number' } },
    };
    assertValidJsonSchema(schema);
    const validate = compileInputValidator(schema);
    expect(validate({ [`${'a'.repeat(5000)}!`]: 'not checked' })).toBeNull();
    expect(validate({ aaaa: 'x' })).toBe('input "aaaa": must be number');
    expect(validate({ aaaa: 1 })).toBeNull();
  });

  it('keeps ordinary patterns matching as JavaScript would', () => {
    const validate = compileInputValidator(
      stringInput({ pattern: '^(?<area>\\d{3})-\\d{4}$|^\\u00e9\\/\\p{Lu}$' }),
    );
    expect(validate({ text: '555-1234' })).toBeNull();
    expect(validate({ text: 'é/Ä' })).toBeNull();
    expect(validate({ text: '555-12345' })).toBe(
      'input "text": must match pattern "^(?<area>\\d{3})-\\d{4}$|^\\u00e9\\/\\p{Lu}$"',
    );
    expect(validate({ text: 'é/a' })).not.toBeNull();
    // unanchored, like RegExp.prototype.test
    expect(compileInputValidator(stringInput({ pattern: 'b+' }))({ text: 'abba' })).toBeNull();
  });

  it('matches \\s, \\S and . as JavaScript does (Unicode whitespace, line terminators)', () => {
    const cases: Array<[string, string[]]> = [
      ['^\\S+$', ['ab', 'a\u00a0b', 'a\u2028b', 'a\u000bb', 'a b']],
      ['^a\\sb$', ['a b', 'a\u00a0b', 'a\u3000b', 'a\ufeffb', 'axb']],
      ['^[\\s\\d]+$', ['1 2', '1\u00a02', '1x2']],
      ['^a.b$', ['axb', 'a\nb', 'a\rb', 'a\u2028b', 'a\u00a0b']],
      ['^[.]$', ['.', 'x']],
    ];
    for (const [pattern, texts] of cases) {
      const validate = compileInputValidator(stringInput({ pattern }));
      for (const text of texts) {
        const native = new RegExp(pattern, 'u').test(text);
        expect({ pattern, text, matches: validate({ text }) === null }).toEqual({
          pattern,
          text,
          matches: native,
        });
      }
    }
    expect(schemaError(stringInput({ pattern: '^[\\Sa]$' })).message).toContain(
      '\\S inside a character class',
    );
  });

  it.each([
    ['a numbered backreference', '^(a)\\1$'],
    ['a backreference past \\7', '^(a)(b)(c)(d)(e)(f)(g)(h)\\8$'],
    ['a named backreference', '^(?<x>a)\\k<x>$'],
    ['a lookahead', '^(?=a)a$'],
    ['a negative lookbehind', '(?<!a)b'],
  ])('refuses %s as a bad schema (INVALID_SCHEMA)', (_what, pattern) => {
    expect(schemaError(stringInput({ pattern })).message).toContain(JSON.stringify(pattern));
    expect(() => compileInputValidator(stringInput({ pattern }))).toThrow(AppError);
  });

  it('refuses a backreference in patternProperties and a pattern that is not a JavaScript regex', () => {
    schemaError({ type: 'object', patternProperties: { '(a)\\1': { type: 'number' } } });
    schemaError(stringInput({ pattern: '\\A' }));
  });
});
