import { AppError } from '../common/app-error';
import { assertJsonDepth } from '../common/json-depth';
import { MODEL_TYPES, ModelType } from './model.entity';

/** 1–100 letters, digits, `-`, `_` and `.`; never `..` (names are shown in file names and URLs). */
export const MODEL_NAME_PATTERN = '^[A-Za-z0-9._-]{1,100}$';
const MODEL_NAME = new RegExp(MODEL_NAME_PATTERN);

export function assertValidModelName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new AppError('VALIDATION_FAILED', 'name is required');
  }
  if (!MODEL_NAME.test(name) || name.includes('..')) {
    throw new AppError(
      'VALIDATION_FAILED',
      'name must be 1 to 100 characters of letters, digits, "-", "_" and "." (no "/", no "..")',
    );
  }
}

export function isModelType(value: unknown): value is ModelType {
  return typeof value === 'string' && (MODEL_TYPES as readonly string[]).includes(value);
}

/** Converter names (lower-case substrings of the ONNX producer_name) and the framework they come from. */
const PRODUCERS: Array<[string, ModelType]> = [
  ['skl2onnx', 'sklearn'],
  ['onnxmltools', 'sklearn'],
  ['tf2onnx', 'tensorflow'],
  ['keras2onnx', 'tensorflow'],
  ['pytorch', 'pytorch'],
];

/** The framework a model was exported from, judged by its producer, or null when the producer says nothing. */
export function modelTypeFromProducer(producerName: unknown): ModelType | null {
  if (typeof producerName !== 'string') return null;
  const producer = producerName.toLowerCase();
  for (const [needle, type] of PRODUCERS) if (producer.includes(needle)) return type;
  return null;
}

/** The given modelType (checked), else the one inferred from the producer; 400 INVALID_MODEL_TYPE otherwise. */
export function resolveModelType(given: string | undefined, producerName: unknown): ModelType {
  if (given !== undefined) {
    if (isModelType(given)) return given;
    throw new AppError(
      'INVALID_MODEL_TYPE',
      `modelType must be one of ${MODEL_TYPES.join(', ')} (got "${given}")`,
    );
  }
  const inferred = modelTypeFromProducer(producerName);
  if (inferred) return inferred;
  const producer = typeof producerName === 'string' && producerName ? `"${producerName}"` : 'not recorded';
  throw new AppError(
    'INVALID_MODEL_TYPE',
    `modelType could not be inferred from the file's producer (${producer}); pass modelType (${MODEL_TYPES.join(', ')})`,
  );
}

/** Parses a JSON text field of the upload form; 400 naming the field when it is not JSON. */
export function parseJsonField(field: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError('VALIDATION_FAILED', `${field} is not valid JSON: ${(err as Error).message}`);
  }
  assertJsonDepth(field, value);
  return value;
}

export function assertJsonObject(field: string, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AppError('VALIDATION_FAILED', `${field} must be a JSON object`);
  }
}
