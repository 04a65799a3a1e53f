import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { AppError } from '../common/app-error';
import { JsonSchema, TensorSpec } from './inference.types';
import { linearRegExp } from './linear-regexp';
import { formatDeclaredShape, isFixedBatchOfOne } from './tensor-codec';

/**
 * JSON Schemas (draft-07, Ajv's default dialect) derived from a model's inputs and outputs, plus the Ajv
 * plumbing to validate prediction inputs against them (derived or uploader-given).
 */

export const JSON_SCHEMA_DIALECT = 'http://json-schema.org/draft-07/schema#';

const INTEGER_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-(2 ** 63), 2 ** 63],
  uint64: [0, 2 ** 64],
};

function leafSchema(elementType: string): JsonSchema {
  if (elementType === 'string') return { type: 'string' };
  if (elementType === 'bool') return { type: 'boolean' };
  const range = INTEGER_RANGES[elementType];
  if (range) return { type: 'integer', minimum: range[0], maximum: range[1] };
  if (elementType.startsWith('float')) return { type: 'number' };
  return {};
}

/**
 * Nested array schema of one tensor. Fixed dims become minItems = maxItems; a leading batch dim of 1 in a
 * row-by-row model and symbolic dims accept any count (at least 1 for inputs: empty tensors are refused).
 */
function tensorSchema(spec: TensorSpec, batchOfOne: boolean, forInput: boolean): JsonSchema {
  const description = `${spec.elementType} tensor, shape ${formatDeclaredShape(spec, batchOfOne)}`;
  if (spec.rankUnknown) return { description };
  let schema = leafSchema(spec.elementType);
  for (let d = spec.shape.length - 1; d >= 0; d--) {
    const dim = spec.shape[d];
    const array: JsonSchema = { type: 'array', items: schema };
    if (typeof dim === 'number' && !(d === 0 && batchOfOne)) {
      array.minItems = dim;
      array.maxItems = dim;
    } else if (forInput) {
      array.minItems = 1;
    }
    schema = array;
  }
  return { description, ...schema };
}

/** `{ [inputName]: nestedArray }`, all inputs required, nothing else allowed. */
export function deriveInputSchema(inputs: TensorSpec[]): JsonSchema {
  const batchOfOne = isFixedBatchOfOne(inputs);
  const properties: Record<string, JsonSchema> = {};
  for (const input of inputs) properties[input.name] = tensorSchema(input, batchOfOne, true);
  return {
    $schema: JSON_SCHEMA_DIALECT,
    type: 'object',
    properties,
    required: inputs.map((i) => i.name),
    additionalProperties: false,
  };
}

export interface OutputSchemaOptions {
  /** The model runs row by row: every output's leading dim is the number of rows. */
  batchOfOne: boolean;
  /** ZipMap outputs by name: their class labels in order. */
  zipMaps?: Record<string, Array<string | number>>;
}

/** Schema of `output` in a prediction: one nested array per tensor output, ZipMaps as arrays of maps. */
export function deriveOutputSchema(outputs: TensorSpec[], options: OutputSchemaOptions): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const output of outputs) {
    const labels = options.zipMaps?.[output.name];
    if (labels) {
      const keys = labels.map(String);
      properties[output.name] = {
        description: `one {label: probability} object per row, labels ${JSON.stringify(labels)}`,
        type: 'array',
        items: {
          type: 'object',
          properties: Object.fromEntries(keys.map((k) => [k, { type: 'number' }])),
          required: keys,
          additionalProperties: false,
        },
      };
    } else {
      properties[output.name] = tensorSchema(output, options.batchOfOne, false);
    }
  }
  return {
    $schema: JSON_SCHEMA_DIALECT,
    type: 'object',
    properties,
    required: outputs.map((o) => o.name),
    additionalProperties: false,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Validation

function createAjv(): Ajv {
  // addUsedSchema: false keeps uploader schemas with the same $id from colliding in Ajv's registry.
  // strict: false because uploaders may use annotation keywords Ajv does not know.
  // code.regExp: uploader patterns run on RE2 in linear time; the native backtracking RegExp would let a pattern
  // like `^(a|a)+$` stall the process. Patterns RE2 cannot run make compile throw (→ INVALID_SCHEMA).
  const ajv = new Ajv({
    allErrors: false,
    strict: false,
    addUsedSchema: false,
    code: { regExp: linearRegExp },
  });
  addFormats(ajv);
  return ajv;
}

const ajv = createAjv();

/** Compiled validators by schema text; bounded because every model may bring its own schema. */
const VALIDATOR_CACHE_MAX = 256;
const validators = new Map<string, { schema: JsonSchema; validate: ValidateFunction }>();

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** `/input/0/3` → `input "input" at [0][3]`, the way the codec names places. */
function describeInstancePath(instancePath: string): string {
  if (!instancePath) return 'input';
  const [name, ...rest] = instancePath.slice(1).split('/').map(unescapePointer);
  const where = rest.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('');
  return where ? `input "${name}" at ${where}` : `input "${name}"`;
}

export function formatSchemaError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required' && error.instancePath === '') {
    return `missing input "${String(params.missingProperty)}"`;
  }
  if (error.keyword === 'additionalProperties' && error.instancePath === '') {
    return `unknown input "${String(params.additionalProperty)}"`;
  }
  return `${describeInstancePath(error.instancePath)}: ${error.message ?? error.keyword}`;
}

/**
 * A validator for prediction inputs: returns null when `value` is valid, else a message naming the failing
 * path. Compiled validators are cached by schema text, so calling this per request is cheap.
 */
export function compileInputValidator(schema: JsonSchema): (value: unknown) => string | null {
  const key = JSON.stringify(schema);
  let entry = validators.get(key);
  if (entry) {
    validators.delete(key); // refresh LRU position
    validators.set(key, entry);
  } else {
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      throw new AppError('INVALID_SCHEMA', `input schema does not compile: ${(err as Error).message}`);
    }
    entry = { schema, validate };
    validators.set(key, entry);
    if (validators.size > VALIDATOR_CACHE_MAX) {
      const [oldestKey, oldest] = validators.entries().next().value as [string, { schema: JsonSchema }];
      validators.delete(oldestKey);
      ajv.removeSchema(oldest.schema); // Ajv caches compiled schemas by object; let it go too
    }
  }
  const { validate } = entry;
  return (value) => (validate(value) ? null : formatSchemaError((validate.errors ?? [])[0]));
}

/** Throws AppError('INVALID_SCHEMA') unless `schema` is a JSON Schema (draft-07) that Ajv can compile. */
export function assertValidJsonSchema(schema: unknown): asserts schema is JsonSchema {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    throw new AppError('INVALID_SCHEMA', 'a JSON Schema must be an object');
  }
  let valid: boolean;
  try {
    valid = ajv.validateSchema(schema) as boolean;
  } catch (err) {
    // e.g. a $schema dialect Ajv does not have
    throw new AppError('INVALID_SCHEMA', `not a valid JSON Schema: ${(err as Error).message}`);
  }
  if (!valid) {
    throw new AppError(
      'INVALID_SCHEMA',
      `not a valid JSON Schema: ${ajv.errorsText(ajv.errors, { dataVar: 'schema' })}`,
    );
  }
  compileInputValidator(schema as JsonSchema); // unresolvable $refs and bad patterns only show at compile time
}
