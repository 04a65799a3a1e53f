import { AppError } from '../common/app-error';
import { TensorSpec } from './inference.types';
import {
  decodeTensor,
  encodeTensor,
  formatDeclaredShape,
  fromFloat16Bits,
  isFixedBatchOfOne,
  normalizeInput,
  sliceRow,
  toFloat16Bits,
} from './tensor-codec';

const LIMIT = { maxElements: 1000 };

function spec(name: string, elementType: TensorSpec['elementType'], shape: TensorSpec['shape']): TensorSpec {
  return { name, elementType, shape };
}

function encodeError(
  s: TensorSpec,
  value: unknown,
  options: Parameters<typeof encodeTensor>[2] = LIMIT,
): AppError {
  try {
    encodeTensor(s, value, options);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('INVALID_INPUT');
    return err as AppError;
  }
  throw new Error('expected encodeTensor to throw');
}

describe('encodeTensor', () => {
  it('writes nested rows into one typed array in row-major order', () => {
    const t = encodeTensor(
      spec('input', 'float32', ['N', 3]),
      [
        [1, 2, 3],
        [4, 5, 6.5],
      ],
      LIMIT,
    );
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(t.dims).toEqual([2, 3]);
  });

  it('names the input, the declared shape with its batch alternative and the received shape', () => {
    const e = encodeError(
      spec('input', 'float32', [1, 4]),
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { ...LIMIT, batchOfOne: true },
    );
    expect(e.message).toBe('input "input": expected shape [1, 4] (or [N, 4] rows), got [2, 3]');
  });

  it('accepts N rows for a batch-of-1 input but checks the other fixed dims', () => {
    const t = encodeTensor(
      spec('input', 'float32', [1, 2]),
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      {
        ...LIMIT,
        batchOfOne: true,
      },
    );
    expect(t.dims).toEqual([3, 2]);
    expect(
      encodeError(spec('input', 'float32', [1, 2]), [
        [1, 2],
        [3, 4],
      ]).message,
    ).toBe('input "input": expected shape [1, 2], got [2, 2]');
  });

  it('accepts any size for symbolic and unknown dims, refuses a wrong rank', () => {
    expect(encodeTensor(spec('x', 'float32', ['batch', null, 2]), [[[1, 2]], [[3, 4]]], LIMIT).dims).toEqual([
      2, 1, 2,
    ]);
    expect(encodeError(spec('x', 'float32', ['batch', 2]), [1, 2]).message).toBe(
      'input "x": expected shape [batch, 2], got [2]',
    );
    expect(encodeError(spec('x', 'float32', ['', 2]), 5).message).toBe(
      'input "x": expected shape [?, 2], got 5',
    );
  });

  it('refuses a non-integer in an integer tensor, naming the element', () => {
    const e = encodeError(spec('x', 'int32', ['N', 4]), [[1, 2, 3, 1.5]]);
    expect(e.message).toBe('input "x": expected int32 values, got 1.5 at [0][3]');
  });

  it('refuses "NaN"-like strings and booleans in numeric tensors', () => {
    expect(encodeError(spec('x', 'float32', [2]), [1, 'NaN']).message).toBe(
      'input "x": expected float32 values, got "NaN" at [1]',
    );
    expect(encodeError(spec('x', 'float64', [1]), ['Infinity']).message).toContain('got "Infinity" at [0]');
    expect(encodeError(spec('x', 'float64', [1]), [true]).message).toContain('got true at [0]');
    expect(encodeError(spec('x', 'float64', [1]), [NaN]).message).toContain('got NaN at [0]');
    expect(encodeError(spec('x', 'float32', [1]), [1e39]).message).toContain(
      'expected float32 values, got 1e+39',
    );
  });

  it('refuses empty arrays with a clear message', () => {
    expect(encodeError(spec('x', 'float32', ['N', 2]), []).message).toBe(
      'input "x": empty arrays are not allowed (expected shape [N, 2], got [0])',
    );
    expect(encodeError(spec('x', 'float32', ['N', 'M']), [[]]).message).toContain(
      'empty arrays are not allowed',
    );
  });

  it('refuses ragged arrays', () => {
    expect(encodeError(spec('x', 'float32', ['N', 2]), [[1, 2], [3]]).message).toBe(
      'input "x": ragged array, expected 2 items at [1], got 1 items',
    );
    expect(encodeError(spec('x', 'float32', ['N', 2]), [[1, 2], 3]).message).toBe(
      'input "x": ragged array, expected 2 items at [1], got 3',
    );
    expect(
      encodeError(spec('x', 'float32', ['N', 2]), [
        [1, 2],
        [3, [4]],
      ]).message,
    ).toBe('input "x": ragged array, expected a value at [1][1], got an array');
  });

  it('refuses more elements than the limit before allocating', () => {
    const e = encodeError(
      spec('x', 'float32', ['N', 2]),
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { maxElements: 5 },
    );
    expect(e.message).toBe('input "x": 6 elements exceed the limit of 5');
  });

  it('refuses unsupported element types', () => {
    expect(encodeError(spec('x', 'sequence', []), [1]).message).toContain(
      'inputs of type sequence are not supported',
    );
  });

  it('checks integer ranges', () => {
    expect(encodeError(spec('x', 'uint8', [2]), [1, 256]).message).toContain(
      'expected uint8 values, got 256 at [1]',
    );
    expect(encodeError(spec('x', 'uint8', [1]), [-1]).message).toContain('got -1');
    expect(encodeError(spec('x', 'int32', [1]), [2 ** 31]).message).toContain('expected int32 values');
    expect(encodeError(spec('x', 'int64', [1]), [2 ** 64]).message).toContain('expected int64 values');
    expect(encodeError(spec('x', 'int64', [1]), ['12']).message).toContain('got "12" at [0]');
  });

  it('accepts a scalar for a rank-0 input', () => {
    const t = encodeTensor(spec('x', 'float64', []), 2.5, LIMIT);
    expect(t.dims).toEqual([]);
    expect(Array.from(t.data as Float64Array)).toEqual([2.5]);
  });

  it('accepts any rank when the model declares none', () => {
    const t = encodeTensor(
      { name: 'x', elementType: 'float32', shape: [], rankUnknown: true },
      [[[1]]],
      LIMIT,
    );
    expect(t.dims).toEqual([1, 1, 1]);
  });
});

describe('round trips (encode → decode)', () => {
  it.each([
    [
      'int64',
      [
        [1, -2],
        [9007199254740991, -9007199254740991],
      ],
      BigInt64Array,
    ],
    [
      'int32',
      [
        [1, -2147483648],
        [2147483647, 0],
      ],
      Int32Array,
    ],
    [
      'uint8',
      [
        [0, 255],
        [7, 8],
      ],
      Uint8Array,
    ],
    [
      'float64',
      [
        [0.1, -1e300],
        [Number.MIN_VALUE, 2 ** 60],
      ],
      Float64Array,
    ],
    [
      'bool',
      [
        [true, false],
        [false, true],
      ],
      Uint8Array,
    ],
    [
      'string',
      [
        ['a', ''],
        ['ünïcødé', 'x y'],
      ],
      Array,
    ],
  ] as const)('%s', (type, value, ctor) => {
    const t = encodeTensor(spec('x', type, ['N', 2]), value, LIMIT);
    expect(t.data).toBeInstanceOf(ctor);
    expect(decodeTensor(t.type, t.data, t.dims)).toEqual(value);
  });

  it('float32 keeps float32 precision', () => {
    const t = encodeTensor(spec('x', 'float32', [2]), [0.1, 3], LIMIT);
    expect(decodeTensor('float32', t.data, t.dims)).toEqual([Math.fround(0.1), 3]);
  });

  it('float16 goes through IEEE half bits', () => {
    const t = encodeTensor(spec('x', 'float16', [4]), [1.5, -2, 65504, 0.000061035156], LIMIT);
    expect(Array.from(t.data as Uint16Array)).toEqual([0x3e00, 0xc000, 0x7bff, 0x0400]);
    expect(decodeTensor('float16', t.data, t.dims)).toEqual([1.5, -2, 65504, 0.00006103515625]);
    expect(fromFloat16Bits(toFloat16Bits(0.1))).toBeCloseTo(0.1, 3);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24); // subnormal
  });
});

describe('decodeTensor', () => {
  it('returns int64 as numbers when safe and as strings beyond 2^53', () => {
    const data = new BigInt64Array([5n, 2n ** 60n, -(2n ** 60n)]);
    expect(decodeTensor('int64', data, [3])).toEqual([5, '1152921504606846976', '-1152921504606846976']);
  });

  it('returns bool as booleans, NaN as null, a rank-0 tensor as a value', () => {
    expect(decodeTensor('bool', new Uint8Array([1, 0]), [1, 2])).toEqual([[true, false]]);
    expect(decodeTensor('float32', new Float32Array([NaN, 1]), [2])).toEqual([null, 1]);
    expect(decodeTensor('float32', new Float32Array([4]), [])).toBe(4);
  });
});

describe('sliceRow', () => {
  it('gives a batch-1 view of one row without copying numeric data', () => {
    const t = encodeTensor(
      spec('x', 'float32', [1, 2]),
      [
        [1, 2],
        [3, 4],
      ],
      { ...LIMIT, batchOfOne: true },
    );
    const row = sliceRow(t, 1);
    expect(row.dims).toEqual([1, 2]);
    expect(Array.from(row.data as Float32Array)).toEqual([3, 4]);
    expect((row.data as Float32Array).buffer).toBe((t.data as Float32Array).buffer);
    const s = sliceRow(
      encodeTensor(spec('s', 'string', [1, 1]), [['a'], ['b']], { ...LIMIT, batchOfOne: true }),
      1,
    );
    expect(s.data).toEqual(['b']);
  });
});

describe('isFixedBatchOfOne', () => {
  it('is true when an input declares a leading 1 and the others can take 1', () => {
    expect(isFixedBatchOfOne([spec('a', 'float32', [1, 4])])).toBe(true);
    expect(isFixedBatchOfOne([spec('a', 'int64', [1, 1]), spec('b', 'float32', [1, 1])])).toBe(true);
    expect(isFixedBatchOfOne([spec('a', 'float32', [1, 4]), spec('b', 'float32', ['N', 2])])).toBe(true);
  });

  it('is false for dynamic batches, other fixed leading dims and scalars', () => {
    expect(isFixedBatchOfOne([spec('a', 'float32', ['N', 4])])).toBe(false);
    expect(isFixedBatchOfOne([spec('a', 'float32', [4, 3])])).toBe(false);
    expect(isFixedBatchOfOne([spec('a', 'float32', [1, 4]), spec('b', 'float32', [3])])).toBe(false);
    expect(isFixedBatchOfOne([spec('a', 'float32', [])])).toBe(false);
    expect(isFixedBatchOfOne([])).toBe(false);
  });
});

describe('normalizeInput', () => {
  it('accepts a bare array for a one-input model', () => {
    expect(normalizeInput(['input'], [[1]])).toEqual({ input: [[1]] });
  });

  it('names missing and unknown inputs', () => {
    expect(() => normalizeInput(['input1', 'input2'], { input1: [1], extra: [2] })).toThrow(
      'missing input "input2"; unknown input "extra" (model inputs: "input1", "input2")',
    );
  });

  it('refuses a bare array for a multi-input model and non-objects', () => {
    expect(() => normalizeInput(['a', 'b'], [1])).toThrow('this model has 2 inputs ("a", "b")');
    expect(() => normalizeInput(['a'], 'text')).toThrow('input must be an object keyed by input name');
    expect(() => normalizeInput(['a'], null)).toThrow(AppError);
  });
});

describe('formatDeclaredShape', () => {
  it('renders symbolic dims by name and unknown ones as ?', () => {
    expect(formatDeclaredShape(spec('x', 'float32', ['batch_size', null, '', 3]))).toBe(
      '[batch_size, ?, ?, 3]',
    );
  });
});
