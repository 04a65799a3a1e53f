import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { AppError } from '../common/app-error';
import type { AppConfig } from '../config/app.config';
import {
  InferenceProvider,
  LoadableModel,
  ModelInspection,
  PredictionResult,
  TensorSpec,
} from './inference.types';
import { deriveInputSchema, deriveOutputSchema } from './json-schema';
import {
  appendGraphOutputs,
  ONNX_DATA_TYPES,
  ONNX_FLOAT,
  OnnxModel,
  OnnxProtoError,
  OnnxType,
  OnnxValueInfo,
  parseOnnxModel,
} from './onnx-model-proto';
import {
  decodeTensor,
  encodeTensor,
  EncodedTensor,
  isFixedBatchOfOne,
  isTensorElementType,
  normalizeInput,
  sliceRow,
  TensorData,
} from './tensor-codec';

/** A ZipMap output: returned under `output` as per-row maps built from the `probabilities` tensor. */
export interface ZipMapPlan {
  output: string;
  probabilities: string;
  labels: Array<string | number>;
}

/** Everything decided once per model at load: what to feed, what to fetch, how to shape the answer. */
export interface ModelPlan {
  model: OnnxModel;
  inputs: TensorSpec[];
  /** Outputs returned to callers, in graph order (tensors and ZipMaps). */
  outputs: TensorSpec[];
  /** Tensor names passed to `session.run` as fetches. */
  fetches: string[];
  zipMaps: ZipMapPlan[];
  /** Non-tensor outputs that are not ZipMaps; onnxruntime-node cannot return them. */
  omittedOutputs: string[];
  batchOfOne: boolean;
  /**
   * Every input has a dynamic leading (batch) dim and every returned output has a leading dim that can be the
   * batch: concurrent predictions may then be run together and split back along dim 0 (dynamic batching).
   */
  batchable: boolean;
  /** The bytes the session is created from (the upload, plus graph outputs for ZipMap inputs). */
  sessionBytes: Uint8Array;
}

interface CacheEntry {
  id: string;
  sha256: string;
  bytes: number;
  session: InferenceSession;
  plan: ModelPlan;
  /** Predictions using the session now; it is released only when this is 0 and the entry is evicted. */
  active: number;
  evicted: boolean;
  /** Dynamic batches being gathered for this session, by input signature (element types and inner dims). */
  batches: Map<string, PendingBatch>;
}

/** One prediction waiting in a dynamic batch. */
interface BatchJob {
  tensors: EncodedTensor[];
  rows: number;
  resolve: (output: Record<string, unknown>) => void;
  reject: (err: unknown) => void;
}

interface PendingBatch {
  entry: CacheEntry;
  signature: string;
  jobs: BatchJob[];
  rows: number;
  timer: NodeJS.Timeout | null;
}

/** What `decode` reads from a run's result: an ORT tensor, or a row range of one. */
interface OutputTensor {
  type: string;
  data: ArrayLike<unknown>;
  dims: readonly number[];
}

/** Shared between a prediction and its timer: the timer flags it, the run loop checks it between runs. */
interface Deadline {
  endsAt: number;
  timedOut: boolean;
}

interface PendingLoad {
  promise: Promise<CacheEntry>;
  /** Callers awaiting this load; each holds one `active` reference once it resolves. */
  waiters: number;
}

type Feeds = Record<string, Tensor>;
type RunOutputs = Record<string, Tensor>;
type DecodableOutputs = Record<string, OutputTensor>;

/** ORT messages that mean "the caller sent the wrong thing", not "the engine broke". */
const INPUT_ERROR_PATTERN =
  /Unexpected input data type|Invalid rank|invalid dimensions|is missing in 'feeds'|Invalid Feed Input|invalid input name|Got invalid dimensions/i;

function describeType(type: OnnxType | null): string {
  if (!type) return 'unknown';
  switch (type.kind) {
    case 'tensor':
      return `tensor(${ONNX_DATA_TYPES[type.elemType] ?? `type ${type.elemType}`})`;
    case 'sequence':
      return `seq(${describeType(type.elem)})`;
    case 'map':
      return `map(${ONNX_DATA_TYPES[type.keyType] ?? type.keyType},${describeType(type.value)})`;
    case 'other':
      return 'unknown';
  }
}

export function toTensorSpec(info: OnnxValueInfo): TensorSpec {
  const type = info.type;
  if (!type || type.kind === 'other')
    return { name: info.name, elementType: 'unknown', shape: [], rankUnknown: true };
  if (type.kind === 'sequence' || type.kind === 'map')
    return { name: info.name, elementType: type.kind, shape: [] };
  const elem = ONNX_DATA_TYPES[type.elemType];
  const elementType = elem && isTensorElementType(elem) ? elem : 'unknown';
  if (!type.shape) return { name: info.name, elementType, shape: [], rankUnknown: true };
  // An empty dim_param (skl2onnx writes '') names nothing: it is an unknown dim.
  const shape = type.shape.map((d) => (d.value !== undefined ? d.value : d.param ? d.param : null));
  return { name: info.name, elementType, shape };
}

function zipMapLabels(model: OnnxModel, nodeIndex: number): Array<string | number> {
  const node = model.graph.nodes[nodeIndex];
  const ints = node.attributes.find((a) => a.name === 'classlabels_int64s');
  if (ints && ints.ints.length > 0) {
    return ints.ints.map((v) =>
      v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString(),
    );
  }
  const strings = node.attributes.find((a) => a.name === 'classlabels_strings');
  return strings ? strings.strings : [];
}

/** Parses the model and decides feeds, fetches and ZipMap handling; 422 on bytes that are not ONNX. */
export function planModel(bytes: Uint8Array): ModelPlan {
  let model: OnnxModel;
  try {
    model = parseOnnxModel(bytes);
  } catch (err) {
    if (err instanceof OnnxProtoError)
      throw new AppError('MODEL_LOAD_FAILED', `not a valid ONNX model: ${err.message}`);
    throw err;
  }
  const graphOutputNames = new Set(model.graph.outputs.map((o) => o.name));
  const zipMapByOutput = new Map<string, ZipMapPlan>();
  model.graph.nodes.forEach((node, index) => {
    if (node.opType !== 'ZipMap' || node.domain !== 'ai.onnx.ml') return;
    const [output] = node.outputs;
    const [probabilities] = node.inputs;
    if (output && probabilities && graphOutputNames.has(output)) {
      zipMapByOutput.set(output, { output, probabilities, labels: zipMapLabels(model, index) });
    }
  });

  const outputs: TensorSpec[] = [];
  const fetches: string[] = [];
  const zipMaps: ZipMapPlan[] = [];
  const omittedOutputs: string[] = [];
  for (const info of model.graph.outputs) {
    const zipMap = zipMapByOutput.get(info.name);
    if (zipMap) {
      zipMaps.push(zipMap);
      outputs.push({ name: info.name, elementType: 'sequence', shape: [] });
      if (!fetches.includes(zipMap.probabilities)) fetches.push(zipMap.probabilities);
    } else if (info.type?.kind === 'tensor' || info.type === null) {
      outputs.push(toTensorSpec(info));
      if (!fetches.includes(info.name)) fetches.push(info.name);
    } else {
      omittedOutputs.push(info.name);
    }
  }
  if (fetches.length === 0) {
    throw new AppError(
      'MODEL_LOAD_FAILED',
      'the model has no outputs this engine can return (only non-tensor outputs)',
    );
  }

  // A ZipMap's input is an internal tensor; expose it as a graph output so `session.run` can fetch it.
  const extra = zipMaps
    .filter((z) => !graphOutputNames.has(z.probabilities))
    .map((z) => ({ name: z.probabilities, elemType: ONNX_FLOAT }));
  const inputs = model.graph.inputs.map(toTensorSpec);
  const batchOfOne = isFixedBatchOfOne(inputs);
  return {
    model,
    inputs,
    outputs,
    fetches,
    zipMaps,
    omittedOutputs,
    batchOfOne,
    batchable: !batchOfOne && isBatchable(inputs, outputs),
    sessionBytes: appendGraphOutputs(bytes, extra),
  };
}

/**
 * Dynamic batching needs a leading dim that is not fixed on every input (so that rows can be stacked) and on every
 * returned tensor output (so that results can be split back); ZipMap outputs are per row by construction. Whether
 * an output's leading dim really is the batch is checked again on each batched run (see `splitBatch`).
 */
export function isBatchable(inputs: TensorSpec[], outputs: TensorSpec[]): boolean {
  if (inputs.length === 0) return false;
  const dynamicLead = (spec: TensorSpec) =>
    !spec.rankUnknown && spec.shape.length > 0 && typeof spec.shape[0] !== 'number';
  if (!inputs.every((spec) => dynamicLead(spec) && spec.elementType !== 'unknown')) return false;
  return outputs.every((spec) => spec.elementType === 'sequence' || dynamicLead(spec));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One `{label: probability}` object per row of a [N, classes] (or [classes]) tensor. */
function zipMapRows(plan: ZipMapPlan, tensor: OutputTensor): Array<Record<string, number>> {
  const classes = plan.labels.length;
  const data = tensor.data as Float32Array;
  if (classes === 0 || data.length % classes !== 0) {
    throw new AppError(
      'INFERENCE_FAILED',
      `ZipMap "${plan.output}": ${data.length} probabilities do not split into rows of ${classes} classes`,
    );
  }
  const rows = data.length / classes;
  const keys = plan.labels.map(String);
  const out = new Array<Record<string, number>>(rows);
  for (let r = 0; r < rows; r++) {
    const row: Record<string, number> = {};
    for (let c = 0; c < classes; c++) row[keys[c]] = data[r * classes + c];
    out[r] = row;
  }
  return out;
}

@Injectable()
export class OnnxRuntimeProvider implements InferenceProvider, OnModuleDestroy {
  /** LRU order: a Map iterates in insertion order, so a hit is moved to the end. */
  private readonly cache = new Map<string, CacheEntry>();
  private readonly loading = new Map<string, PendingLoad>();
  private cachedBytes = 0;

  constructor(
    private readonly config: AppConfig['inference'],
    private readonly limits: AppConfig['limits'],
  ) {}

  async inspect(bytes: Buffer): Promise<ModelInspection> {
    const plan = planModel(bytes);
    const session = await this.openSession(plan.sessionBytes);
    void session.release().catch(() => undefined);
    return this.describe(plan, sha256(bytes));
  }

  async predict(model: LoadableModel, input: unknown): Promise<PredictionResult> {
    const entry = await this.acquire(model);
    const deadline: Deadline = { endsAt: performance.now() + this.config.timeoutMs, timedOut: false };
    const work = this.execute(entry, input, deadline);
    // The session is handed back only when the work has really stopped, even after a timeout.
    work.then(
      () => this.releaseRef(entry),
      () => this.releaseRef(entry),
    );
    return this.withTimeout(work, deadline);
  }

  evict(modelId: string): void {
    this.loading.delete(modelId); // a load in flight will not be cached
    const entry = this.cache.get(modelId);
    if (entry) this.drop(entry);
  }

  stats(): { models: number; bytes: number } {
    return { models: this.cache.size, bytes: this.cachedBytes };
  }

  onModuleDestroy(): void {
    for (const entry of [...this.cache.values()]) this.drop(entry);
  }

  // ---- seams (protected so specs can count or slow them down) ----------------------------------------

  protected createSession(bytes: Uint8Array): Promise<InferenceSession> {
    return InferenceSession.create(bytes, {
      intraOpNumThreads: this.config.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Fatal only: every error ORT logs is also thrown to us and reported with the request; its own log
      // would go to stderr raw, around the service's structured logger.
      logSeverityLevel: 4,
      // Intra-op worker threads sleep when idle instead of spinning: on a machine with few cores, spinning
      // threads take CPU from the event loop (and from the other API processes) after every run.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  }

  protected runSession(session: InferenceSession, feeds: Feeds, fetches: string[]): Promise<RunOutputs> {
    return session.run(feeds, fetches);
  }

  // ---- loading and the session cache -----------------------------------------------------------------

  private async openSession(bytes: Uint8Array): Promise<InferenceSession> {
    try {
      return await this.createSession(bytes);
    } catch (err) {
      throw new AppError('MODEL_LOAD_FAILED', errorMessage(err).trim());
    }
  }

  private describe(plan: ModelPlan, hash: string): ModelInspection {
    const { model } = plan;
    const zipMaps = Object.fromEntries(plan.zipMaps.map((z) => [z.output, z.labels]));
    const metadata: Record<string, unknown> = {
      producerName: model.producerName,
      producerVersion: model.producerVersion,
      irVersion: model.irVersion,
      opsets: model.opsets.map((o) => ({ domain: o.domain || 'ai.onnx', version: o.version })),
      domain: model.domain,
      modelVersion: model.modelVersion,
      docString: model.docString,
      metadataProps: model.metadataProps,
      graphInputs: plan.inputs,
      graphOutputs: model.graph.outputs.map((o) => ({ ...toTensorSpec(o), type: describeType(o.type) })),
      sha256: hash,
      fixedBatch: plan.batchOfOne,
    };
    if (plan.zipMaps.length > 0) {
      metadata.zipMap = plan.zipMaps.map((z) => ({
        output: z.output,
        probabilityTensor: z.probabilities,
        classLabels: z.labels,
      }));
    }
    if (plan.omittedOutputs.length > 0) metadata.omittedOutputs = plan.omittedOutputs;
    return {
      sha256: hash,
      inputs: plan.inputs,
      outputs: plan.outputs,
      metadata,
      inputSchema: deriveInputSchema(plan.inputs),
      outputSchema: deriveOutputSchema(plan.outputs, { batchOfOne: plan.batchOfOne, zipMaps }),
    };
  }

  /** A cached session with one reference taken; loads it once however many callers ask at the same time. */
  private async acquire(model: LoadableModel): Promise<CacheEntry> {
    const cached = this.cache.get(model.id);
    if (cached && (!model.sha256 || cached.sha256 === model.sha256)) {
      this.cache.delete(model.id);
      this.cache.set(model.id, cached);
      cached.active++;
      return cached;
    }
    if (cached) this.drop(cached); // the file behind this id changed
    let pending = this.loading.get(model.id);
    if (!pending) {
      const created: PendingLoad = { waiters: 0, promise: Promise.resolve(null as unknown as CacheEntry) };
      created.promise = this.load(model, created);
      this.loading.set(model.id, created);
      pending = created;
    }
    pending.waiters++;
    return pending.promise;
  }

  private async load(model: LoadableModel, pending: PendingLoad): Promise<CacheEntry> {
    try {
      const bytes = await this.readModelFile(model);
      const plan = planModel(bytes);
      const session = await this.openSession(plan.sessionBytes);
      const entry: CacheEntry = {
        id: model.id,
        sha256: sha256(bytes),
        bytes: bytes.length,
        session,
        plan,
        active: pending.waiters, // taken synchronously, before any other load can evict it
        evicted: false,
        batches: new Map(),
      };
      if (this.loading.get(model.id) === pending) {
        this.loading.delete(model.id);
        this.insert(entry);
      } else {
        entry.evicted = true; // evicted while loading: serve the waiters, then release
      }
      return entry;
    } catch (err) {
      if (this.loading.get(model.id) === pending) this.loading.delete(model.id);
      throw err;
    }
  }

  private async readModelFile(model: LoadableModel): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(model.filePath);
    } catch (err) {
      throw new AppError('INTERNAL', `model file of ${model.id} cannot be read: ${errorMessage(err)}`);
    }
    if (model.sha256 && sha256(bytes) !== model.sha256) {
      throw new AppError('MODEL_LOAD_FAILED', `model file of ${model.id} does not match its recorded sha256`);
    }
    return bytes;
  }

  /** Adds an entry, then evicts least recently used ones until count and bytes fit (never the new one). */
  private insert(entry: CacheEntry): void {
    this.cache.set(entry.id, entry);
    this.cachedBytes += entry.bytes;
    for (const oldest of this.cache.values()) {
      const over =
        this.cache.size > this.config.sessionCacheMaxCount ||
        this.cachedBytes > this.config.sessionCacheMaxBytes;
      if (!over || oldest === entry) break;
      this.drop(oldest);
    }
  }

  private drop(entry: CacheEntry): void {
    if (this.cache.get(entry.id) === entry) {
      this.cache.delete(entry.id);
      this.cachedBytes -= entry.bytes;
    }
    entry.evicted = true;
    if (entry.active === 0) this.releaseSession(entry);
  }

  private releaseRef(entry: CacheEntry): void {
    entry.active--;
    if (entry.active === 0 && entry.evicted) this.releaseSession(entry);
  }

  private releaseSession(entry: CacheEntry): void {
    void entry.session.release().catch(() => undefined);
  }

  // ---- running -------------------------------------------------------------------------------------

  private withTimeout<T>(work: Promise<T>, deadline: Deadline): Promise<T> {
    const timeoutMs = this.config.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        deadline.timedOut = true;
        reject(this.timeoutError());
      }, timeoutMs);
      timer.unref();
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private timeoutError(): AppError {
    return new AppError('INFERENCE_TIMEOUT', `inference took longer than ${this.config.timeoutMs} ms`);
  }

  /**
   * onnxruntime-node runs a model synchronously on the JS thread, so the timer cannot interrupt a run; the
   * deadline is also checked after each run so that a slow run is refused rather than answered late.
   */
  private checkDeadline(deadline: Deadline): void {
    if (deadline.timedOut || performance.now() > deadline.endsAt) {
      deadline.timedOut = true;
      throw this.timeoutError();
    }
  }

  private encodeInputs(plan: ModelPlan, input: unknown): EncodedTensor[] {
    const values = normalizeInput(
      plan.inputs.map((i) => i.name),
      input,
    );
    const maxElements = this.limits.inputElements;
    let total = 0;
    const tensors = plan.inputs.map((spec) => {
      const tensor = encodeTensor(spec, values[spec.name], { maxElements, batchOfOne: plan.batchOfOne });
      total += tensor.data.length;
      return tensor;
    });
    if (total > maxElements) {
      throw new AppError(
        'INVALID_INPUT',
        `the inputs have ${total} elements in total, over the limit of ${maxElements}`,
      );
    }
    if (plan.batchOfOne) {
      const rows = tensors[0].dims[0];
      const other = tensors.find((t) => t.dims[0] !== rows);
      if (other) {
        throw new AppError(
          'INVALID_INPUT',
          `inputs must have the same number of rows: "${tensors[0].name}" has ${rows}, "${other.name}" has ${other.dims[0]}`,
        );
      }
    }
    return tensors;
  }

  private async execute(entry: CacheEntry, input: unknown, deadline: Deadline): Promise<PredictionResult> {
    const { plan } = entry;
    const tensors = this.encodeInputs(plan, input);
    const started = performance.now();
    if (this.joinsBatch(plan, tensors)) {
      const output = await this.enqueue(entry, tensors);
      this.checkDeadline(deadline);
      return { output, inferenceTimeMs: performance.now() - started };
    }
    const rows = plan.batchOfOne ? tensors[0].dims[0] : 1;
    if (rows === 1) {
      const results = await this.run(entry, tensors);
      this.checkDeadline(deadline);
      const output = this.decode(plan, results);
      return { output, inferenceTimeMs: performance.now() - started };
    }
    // Declared batch of 1: one run per row, outputs concatenated along dim 0.
    const merged: Record<string, unknown[]> = {};
    for (const spec of plan.outputs) merged[spec.name] = [];
    for (let row = 0; row < rows; row++) {
      const results = await this.run(
        entry,
        tensors.map((t) => sliceRow(t, row)),
      );
      this.checkDeadline(deadline);
      const part = this.decode(plan, results);
      for (const name of Object.keys(merged)) {
        const value = part[name];
        if (Array.isArray(value)) for (const item of value) merged[name].push(item);
        else merged[name].push(value);
      }
    }
    return { output: merged, inferenceTimeMs: performance.now() - started };
  }

  private async run(entry: CacheEntry, tensors: EncodedTensor[]): Promise<RunOutputs> {
    const feeds: Feeds = {};
    for (const t of tensors) feeds[t.name] = new Tensor(t.type, t.data, t.dims);
    try {
      return await this.runSession(entry.session, feeds, entry.plan.fetches);
    } catch (err) {
      if (err instanceof AppError) throw err;
      const message = errorMessage(err).trim();
      throw new AppError(INPUT_ERROR_PATTERN.test(message) ? 'INVALID_INPUT' : 'INFERENCE_FAILED', message);
    }
  }

  private decode(plan: ModelPlan, results: DecodableOutputs): Record<string, unknown> {
    const output: Record<string, unknown> = {};
    const zipMaps = new Map(plan.zipMaps.map((z) => [z.output, z]));
    for (const spec of plan.outputs) {
      const zipMap = zipMaps.get(spec.name);
      const tensor = results[zipMap ? zipMap.probabilities : spec.name];
      if (!tensor) throw new AppError('INFERENCE_FAILED', `the engine returned no "${spec.name}" output`);
      output[spec.name] = zipMap
        ? zipMapRows(zipMap, tensor)
        : decodeTensor(tensor.type, tensor.data, tensor.dims);
    }
    return output;
  }

  // ---- dynamic batching ----------------------------------------------------------------------------

  /** Whether this prediction waits for others: a batchable model, batching on, and room left in a batch. */
  private joinsBatch(plan: ModelPlan, tensors: EncodedTensor[]): boolean {
    if (!plan.batchable || this.config.batchWindowMs <= 0) return false;
    const rows = tensors[0].dims[0];
    if (rows >= this.config.batchMaxRows) return false;
    return tensors.every((t) => t.dims.length > 0 && t.dims[0] === rows);
  }

  /**
   * Adds a prediction to the batch being gathered for its session and input signature; the batch runs when its
   * window ends or it reaches `batchMaxRows` rows, and each prediction gets its own rows of the outputs.
   */
  private enqueue(entry: CacheEntry, tensors: EncodedTensor[]): Promise<Record<string, unknown>> {
    const rows = tensors[0].dims[0];
    const signature = tensors.map((t) => `${t.type}[${t.dims.slice(1).join(',')}]`).join(';');
    return new Promise((resolve, reject) => {
      let batch = entry.batches.get(signature);
      if (batch && batch.rows + rows > this.config.batchMaxRows) {
        this.flush(batch);
        batch = undefined;
      }
      if (!batch) {
        const created: PendingBatch = { entry, signature, jobs: [], rows: 0, timer: null };
        created.timer = setTimeout(() => this.flush(created), this.config.batchWindowMs);
        entry.batches.set(signature, created);
        batch = created;
      }
      batch.jobs.push({ tensors, rows, resolve, reject });
      batch.rows += rows;
      if (batch.rows >= this.config.batchMaxRows) this.flush(batch);
    });
  }

  private flush(batch: PendingBatch): void {
    if (batch.timer) clearTimeout(batch.timer);
    batch.timer = null;
    if (batch.entry.batches.get(batch.signature) === batch) batch.entry.batches.delete(batch.signature);
    void this.runBatch(batch);
  }

  /** One `session.run` for every job; if that fails or its outputs do not split by rows, each job runs alone. */
  private async runBatch(batch: PendingBatch): Promise<void> {
    const { entry, jobs } = batch;
    if (jobs.length > 1) {
      let split: Array<Record<string, unknown>> | null = null;
      try {
        const results = await this.run(entry, concatRows(jobs.map((j) => j.tensors)));
        split = this.splitBatch(entry.plan, results, jobs);
      } catch {
        split = null; // e.g. a model whose leading output dim is not the batch: fall back below
      }
      if (split) {
        jobs.forEach((job, i) => job.resolve(split[i]));
        return;
      }
    }
    for (const job of jobs) {
      try {
        job.resolve(this.decode(entry.plan, await this.run(entry, job.tensors)));
      } catch (err) {
        job.reject(err);
      }
    }
  }

  /** Each job's rows of every fetched tensor, decoded; null when an output's leading dim is not the batch. */
  private splitBatch(
    plan: ModelPlan,
    results: RunOutputs,
    jobs: BatchJob[],
  ): Array<Record<string, unknown>> | null {
    const total = jobs.reduce((sum, job) => sum + job.rows, 0);
    for (const name of plan.fetches) {
      const tensor = results[name];
      if (!tensor || tensor.dims.length === 0 || tensor.dims[0] !== total) return null;
    }
    let first = 0;
    return jobs.map((job) => {
      const part: DecodableOutputs = {};
      for (const name of plan.fetches) part[name] = sliceRows(results[name], first, job.rows);
      first += job.rows;
      return this.decode(plan, part);
    });
  }
}

/** The inputs of several predictions stacked along dim 0, input by input (same types and inner dims). */
export function concatRows(parts: EncodedTensor[][]): EncodedTensor[] {
  return parts[0].map((first, k) => {
    let rows = 0;
    let length = 0;
    for (const tensors of parts) {
      rows += tensors[k].dims[0];
      length += tensors[k].data.length;
    }
    const dims = [rows, ...first.dims.slice(1)];
    if (Array.isArray(first.data)) {
      const data: string[] = [];
      for (const tensors of parts) for (const value of tensors[k].data as string[]) data.push(value);
      return { name: first.name, type: first.type, data, dims };
    }
    const Typed = first.data.constructor as new (length: number) => Exclude<TensorData, string[]>;
    const data = new Typed(length);
    let offset = 0;
    for (const tensors of parts) {
      const source = tensors[k].data as Exclude<TensorData, string[]>;
      (data as { set(values: ArrayLike<number | bigint>, offset: number): void }).set(source, offset);
      offset += source.length;
    }
    return { name: first.name, type: first.type, data, dims };
  });
}

/** Rows [first, first + rows) of an output tensor, without copying numeric data. */
function sliceRows(tensor: Tensor, first: number, rows: number): OutputTensor {
  let rowSize = 1;
  for (let i = 1; i < tensor.dims.length; i++) rowSize *= tensor.dims[i];
  const data = tensor.data as ArrayLike<unknown> & {
    subarray?: (a: number, b: number) => ArrayLike<unknown>;
  };
  const start = first * rowSize;
  const end = start + rows * rowSize;
  const part = data.subarray ? data.subarray(start, end) : (data as unknown[]).slice(start, end);
  return { type: tensor.type, data: part, dims: [rows, ...tensor.dims.slice(1)] };
}
