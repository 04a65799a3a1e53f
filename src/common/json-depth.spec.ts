import { AppError } from './app-error';
import { assertJsonDepth, jsonDepth, MAX_JSON_DEPTH } from './json-depth';

const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
};

describe('jsonDepth', () => {
  it('counts nested arrays and objects', () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth(null)).toBe(0);
    expect(jsonDepth([])).toBe(1);
    expect(jsonDepth({ a: [1, { b: [] }], c: 2 })).toBe(4);
    expect(jsonDepth(nested(10))).toBe(10);
  });

  it('stops past the limit, without overflowing the stack on a very deep value', () => {
    expect(jsonDepth(nested(200_000), 64)).toBe(65);
  });
});

describe('assertJsonDepth', () => {
  it(`takes ${MAX_JSON_DEPTH} levels and refuses one more with VALIDATION_FAILED`, () => {
    expect(() => assertJsonDepth('metadata', nested(MAX_JSON_DEPTH))).not.toThrow();
    let error: unknown;
    try {
      assertJsonDepth('metadata', nested(MAX_JSON_DEPTH + 1));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: `metadata nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });
});
