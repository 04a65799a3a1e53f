/**
 * The contract between the rest of the service (models, predictions) and whatever engine runs the models.
 * Only this file and the injection token are meant to be imported outside `src/inference`.
 */

/** Element types of ONNX tensors, spelled the way onnxruntime-node spells them. */
export type TensorElementType =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string'
  | 'float16';

/** A JSON Schema document (draft-07), kept loose on purpose: it is stored and served as plain JSON. */
export type JsonSchema = { [keyword: string]: unknown };

export interface TensorSpec {
  name: string;
  elementType: TensorElementType | 'sequence' | 'map' | 'unknown';
  /** One entry per dimension: a number is fixed, a string is a symbolic dim name, null is an unknown dim. */
  shape: Array<number | string | null>;
  /** Set when the model does not declare a rank at all (then `shape` is empty and any rank is accepted). */
  rankUnknown?: boolean;
}

export interface ModelInspection {
  sha256: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /**
   * producerName, producerVersion, irVersion, opsets [{domain, version}], domain, modelVersion, docString,
   * metadataProps, graphInputs, graphOutputs, sha256, fixedBatch, zipMaps (when the model has ZipMap outputs),
   * omittedOutputs (non-tensor outputs the engine cannot return).
   */
  metadata: Record<string, unknown>;
  inputSchema: JsonSchema;
  outputSchema: JsonSchema;
}

export interface LoadableModel {
  /** Cache key: one id per stored model file (a new version is a new id). */
  id: string;
  /** Absolute path of the .onnx file. */
  filePath: string;
  /** When given, the file is checked against it at load and a cached session with another hash is replaced. */
  sha256?: string;
}

export interface PredictionResult {
  output: Record<string, unknown>;
  /** Wall time of the engine runs (fractional milliseconds). */
  inferenceTimeMs: number;
}

export interface InferenceProvider {
  /** Parses and loads model bytes once, to refuse unusable uploads; throws AppError('MODEL_LOAD_FAILED'). */
  inspect(bytes: Buffer): Promise<ModelInspection>;
  /**
   * Runs a model. `input` is `{ [inputName]: nestedArray }` or, for a one-input model, a bare nested array.
   * Throws AppError INVALID_INPUT, MODEL_LOAD_FAILED, INFERENCE_FAILED or INFERENCE_TIMEOUT.
   */
  predict(model: LoadableModel, input: unknown): Promise<PredictionResult>;
  /** Drops the cached session of a model (after a delete or a new upload). */
  evict(modelId: string): void;
  /** What the session cache holds now. */
  stats(): { models: number; bytes: number };
}

export const INFERENCE_PROVIDER = Symbol('INFERENCE_PROVIDER');
