import { AppError } from '../common/app-error';
import { TensorElementType, TensorSpec } from './inference.types';

/**
 * JSON ↔ tensor conversion. Request bodies can hold a million numbers, so encoding walks the nested arrays
 * twice (shape, then values) straight into one preallocated typed array: no `flat()`, no per-row arrays.
 */

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

export interface EncodedTensor {
  name: string;
  type: TensorElementType;
  data: TensorData;
  dims: number[];
}

export interface EncodeOptions {
  /** Refuse inputs with more elements than this (config `limits.inputElements`). */
  maxElements: number;
  /** The model declares a leading batch dim of 1 but is run row by row, so any number of rows is fine. */
  batchOfOne?: boolean;
}

/** Writes one JSON leaf into the target; returns false when the value is not acceptable for the type. */
type LeafWriter = (target: TensorData, offset: number, value: unknown) => boolean;

interface ElementCodec {
  allocate(length: number): TensorData;
  write: LeafWriter;
  /** What the error says was expected, e.g. "int32 values". */
  expected: string;
}

function integerCodec(
  type: string,
  min: number,
  max: number,
  allocate: (length: number) => TensorData,
): ElementCodec {
  return {
    allocate,
    expected: `${type} values`,
    write: (target, offset, value) => {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return false;
      (target as Int32Array)[offset] = value;
      return true;
    },
  };
}

function bigIntegerCodec(
  type: string,
  min: bigint,
  maxExclusive: bigint,
  allocate: (length: number) => TensorData,
): ElementCodec {
  return {
    allocate,
    expected: `${type} values`,
    write: (target, offset, value) => {
      // JSON integers arrive as numbers; beyond 2^53 JSON.parse has already rounded them, which is the
      // client's choice. Non-integers are refused rather than truncated.
      if (typeof value !== 'number' || !Number.isInteger(value)) return false;
      const big = BigInt(value);
      if (big < min || big >= maxExclusive) return false;
      (target as BigInt64Array)[offset] = big;
      return true;
    },
  };
}

const CODECS: Record<TensorElementType, ElementCodec> = {
  float32: {
    allocate: (n) => new Float32Array(n),
    expected: 'float32 values',
    write: (target, offset, value) => {
      // A finite double can still overflow float32 (e.g. 1e39): refuse instead of feeding Infinity.
      if (typeof value !== 'number' || !Number.isFinite(Math.fround(value))) return false;
      (target as Float32Array)[offset] = value;
      return true;
    },
  },
  float64: {
    allocate: (n) => new Float64Array(n),
    expected: 'float64 values',
    write: (target, offset, value) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
      (target as Float64Array)[offset] = value;
      return true;
    },
  },
  float16: {
    allocate: (n) => new Uint16Array(n),
    expected: 'float16 values',
    write: (target, offset, value) => {
      if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > 65504) return false;
      (target as Uint16Array)[offset] = toFloat16Bits(value);
      return true;
    },
  },
  int8: integerCodec('int8', -128, 127, (n) => new Int8Array(n)),
  uint8: integerCodec('uint8', 0, 255, (n) => new Uint8Array(n)),
  int16: integerCodec('int16', -32768, 32767, (n) => new Int16Array(n)),
  uint16: integerCodec('uint16', 0, 65535, (n) => new Uint16Array(n)),
  int32: integerCodec('int32', -2147483648, 2147483647, (n) => new Int32Array(n)),
  uint32: integerCodec('uint32', 0, 4294967295, (n) => new Uint32Array(n)),
  int64: bigIntegerCodec('int64', -(2n ** 63n), 2n ** 63n, (n) => new BigInt64Array(n)),
  uint64: bigIntegerCodec('uint64', 0n, 2n ** 64n, (n) => new BigUint64Array(n)),
  bool: {
    allocate: (n) => new Uint8Array(n),
    expected: 'boolean values',
    write: (target, offset, value) => {
      if (typeof value !== 'boolean') return false;
      (target as Uint8Array)[offset] = value ? 1 : 0;
      return true;
    },
  },
  string: {
    allocate: (n) => new Array<string>(n),
    expected: 'string values',
    write: (target, offset, value) => {
      if (typeof value !== 'string') return false;
      (target as string[])[offset] = value;
      return true;
    },
  },
};

export function isTensorElementType(type: string): type is TensorElementType {
  return Object.prototype.hasOwnProperty.call(CODECS, type);
}

function invalid(message: string): AppError {
  return new AppError('INVALID_INPUT', message);
}

/** `[N, 4]`-style rendering of a declared shape: symbolic dims by name, unknown ones as `?`. */
export function formatDeclaredShape(spec: TensorSpec, batchOfOne = false): string {
  if (spec.rankUnknown) return 'any shape';
  const dims = spec.shape.map((d) => (typeof d === 'number' ? String(d) : d ? d : '?'));
  const declared = `[${dims.join(', ')}]`;
  if (!batchOfOne) return declared;
  return `${declared} (or [${['N', ...dims.slice(1)].join(', ')}] rows)`;
}

function formatPath(indices: number[], depth: number): string {
  let out = '';
  for (let i = 0; i < depth; i++) out += `[${indices[i]}]`;
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return text.length > 40 ? `${text.slice(0, 37)}..."` : text;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** First pass: the shape implied by following the first element down each level. */
function probeShape(value: unknown): number[] {
  const shape: number[] = [];
  let node = value;
  while (Array.isArray(node)) {
    shape.push(node.length);
    if (node.length === 0) break;
    node = node[0];
  }
  return shape;
}

function checkDeclaredShape(spec: TensorSpec, value: unknown, shape: number[], batchOfOne: boolean): void {
  if (spec.rankUnknown) return;
  const expected = formatDeclaredShape(spec, batchOfOne);
  if (shape.length === 0 && spec.shape.length > 0) {
    throw invalid(`input "${spec.name}": expected shape ${expected}, got ${describe(value)}`);
  }
  let ok = shape.length === spec.shape.length;
  for (let i = 0; ok && i < shape.length; i++) {
    const declared = spec.shape[i];
    if (typeof declared !== 'number') continue; // symbolic or unknown: any size
    if (i === 0 && batchOfOne) continue;
    ok = declared === shape[i];
  }
  if (!ok) throw invalid(`input "${spec.name}": expected shape ${expected}, got [${shape.join(', ')}]`);
}

/**
 * Second pass: writes every leaf into `target` in row-major order, checking that each level really has the
 * probed length (ragged arrays) and that each leaf fits the element type.
 */
function writeLeaves(
  spec: TensorSpec,
  codec: ElementCodec,
  value: unknown,
  shape: number[],
  target: TensorData,
): void {
  const rank = shape.length;
  const indices = new Array<number>(rank).fill(0);
  let offset = 0;
  const visit = (node: unknown, depth: number): void => {
    if (depth === rank) {
      if (Array.isArray(node)) {
        throw invalid(
          `input "${spec.name}": ragged array, expected a value at ${formatPath(indices, depth)}, got an array`,
        );
      }
      if (!codec.write(target, offset, node)) {
        throw invalid(
          `input "${spec.name}": expected ${codec.expected}, got ${describe(node)} at ${formatPath(indices, depth)}`,
        );
      }
      offset++;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      const got = Array.isArray(node) ? `${node.length} items` : describe(node);
      const where = depth === 0 ? 'the top level' : formatPath(indices, depth);
      throw invalid(
        `input "${spec.name}": ragged array, expected ${shape[depth]} items at ${where}, got ${got}`,
      );
    }
    for (let i = 0; i < node.length; i++) {
      indices[depth] = i;
      visit(node[i], depth + 1);
    }
  };
  visit(value, 0);
}

/** Encodes the JSON value of one input into a tensor, checking it against the declared spec. */
export function encodeTensor(spec: TensorSpec, value: unknown, options: EncodeOptions): EncodedTensor {
  if (!isTensorElementType(spec.elementType)) {
    throw invalid(`input "${spec.name}": inputs of type ${spec.elementType} are not supported`);
  }
  const codec = CODECS[spec.elementType];
  const batchOfOne = options.batchOfOne ?? false;
  const shape = probeShape(value);
  if (shape.includes(0)) {
    throw invalid(
      `input "${spec.name}": empty arrays are not allowed (expected shape ${formatDeclaredShape(spec, batchOfOne)}, ` +
        `got [${shape.join(', ')}])`,
    );
  }
  checkDeclaredShape(spec, value, shape, batchOfOne);
  let elements = 1;
  for (const dim of shape) elements *= dim;
  if (elements > options.maxElements) {
    throw invalid(`input "${spec.name}": ${elements} elements exceed the limit of ${options.maxElements}`);
  }
  const data = codec.allocate(elements);
  writeLeaves(spec, codec, value, shape, data);
  return { name: spec.name, type: spec.elementType, data, dims: shape };
}

/** The rows [row, row + 1) of a tensor as a batch-1 tensor; numeric data is a view, not a copy. */
export function sliceRow(tensor: EncodedTensor, row: number): EncodedTensor {
  let rowSize = 1;
  for (let i = 1; i < tensor.dims.length; i++) rowSize *= tensor.dims[i];
  const start = row * rowSize;
  const data = Array.isArray(tensor.data)
    ? tensor.data.slice(start, start + rowSize)
    : tensor.data.subarray(start, start + rowSize);
  return { name: tensor.name, type: tensor.type, data, dims: [1, ...tensor.dims.slice(1)] };
}

/**
 * Models exported with a fixed batch of 1 (`[1, F]`) are run row by row so that callers can send N rows.
 * That applies when at least one input declares a leading 1 and every other input has a leading dim that can
 * be 1 (symbolic or unknown) — splitting an input whose leading dim is, say, 3 would change its meaning.
 */
export function isFixedBatchOfOne(inputs: TensorSpec[]): boolean {
  if (inputs.length === 0) return false;
  let anyOne = false;
  for (const input of inputs) {
    if (input.rankUnknown || input.shape.length === 0) return false;
    const lead = input.shape[0];
    if (lead === 1) anyOne = true;
    else if (typeof lead === 'number') return false;
  }
  return anyOne;
}

/**
 * Accepts `{ [inputName]: value }` or, for a one-input model, the bare value; names what is missing or extra.
 */
export function normalizeInput(inputNames: string[], input: unknown): Record<string, unknown> {
  const list = inputNames.map((n) => `"${n}"`).join(', ');
  if (Array.isArray(input)) {
    if (inputNames.length === 1) return { [inputNames[0]]: input };
    throw invalid(`this model has ${inputNames.length} inputs (${list}): send an object keyed by input name`);
  }
  if (input === null || typeof input !== 'object') {
    throw invalid(
      `input must be an object keyed by input name (${list}) or, for a one-input model, an array`,
    );
  }
  const given = input as Record<string, unknown>;
  const missing = inputNames.filter((name) => !Object.prototype.hasOwnProperty.call(given, name));
  const extra = Object.keys(given).filter((name) => !inputNames.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    const problems: string[] = [];
    if (missing.length > 0) problems.push(`missing input ${missing.map((n) => `"${n}"`).join(', ')}`);
    if (extra.length > 0) problems.push(`unknown input ${extra.map((n) => `"${n}"`).join(', ')}`);
    throw invalid(`${problems.join('; ')} (model inputs: ${list})`);
  }
  return given;
}

// ---------------------------------------------------------------------------------------------------------
// Outputs

type LeafReader = (data: ArrayLike<unknown>, index: number) => unknown;

const readPlain: LeafReader = (data, index) => data[index];
const readBool: LeafReader = (data, index) => data[index] !== 0 && data[index] !== false;
const readBig: LeafReader = (data, index) => {
  const value = data[index] as bigint;
  // JSON numbers are doubles: beyond 2^53 a number would silently change, so those go out as strings.
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
};
const readHalf: LeafReader = (data, index) => {
  const raw = data[index] as number;
  // onnxruntime-node hands float16 out as raw bits in a Uint16Array (Node 20 has no Float16Array).
  const value = data instanceof Uint16Array ? fromFloat16Bits(raw) : raw;
  return Number.isFinite(value) ? value : null;
};
/** JSON cannot carry NaN or Infinity; a model that produces them reports null there. */
const readFloat: LeafReader = (data, index) => {
  const value = data[index] as number;
  return Number.isFinite(value) ? value : null;
};

function leafReader(type: string): LeafReader {
  switch (type) {
    case 'int64':
    case 'uint64':
      return readBig;
    case 'bool':
      return readBool;
    case 'float16':
      return readHalf;
    case 'float32':
    case 'float64':
      return readFloat;
    default:
      return readPlain;
  }
}

/** A tensor's data as nested JSON arrays (a rank-0 tensor as a single value). */
export function decodeTensor(type: string, data: ArrayLike<unknown>, dims: readonly number[]): unknown {
  const read = leafReader(type);
  if (dims.length === 0) return read(data, 0);
  let offset = 0;
  const build = (depth: number): unknown[] => {
    const length = dims[depth];
    const out = new Array<unknown>(length);
    if (depth === dims.length - 1) {
      for (let i = 0; i < length; i++) out[i] = read(data, offset++);
    } else {
      for (let i = 0; i < length; i++) out[i] = build(depth + 1);
    }
    return out;
  };
  return build(0);
}

// ---------------------------------------------------------------------------------------------------------
// IEEE 754 half precision, for float16 tensors (Node 20 has no Float16Array)

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    if ((mantissa >>> (shift - 1)) & 1) half += 1; // round half up
    return sign | half;
  }
  let half = sign | (e << 10) | (mantissa >>> 13);
  if (mantissa & 0x1000) half += 1; // round; a carry into the exponent is still correct
  return half;
}

export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
