/**
 * @jest-environment ./src/inference/testing/onnx-jest-environment.ts
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { AppError } from '../common/app-error';
import type { AppConfig } from '../config/app.config';
import { LoadableModel } from './inference.types';
import { OnnxRuntimeProvider } from './onnx-runtime.provider';

const FIXTURES = path.resolve(__dirname, '../../test/fixtures/models');
const fixture = (name: string): LoadableModel => ({
  id: name,
  filePath: path.join(FIXTURES, name, 'model.onnx'),
});
const fileSize = (name: string) => statSync(fixture(name).filePath).size;

const INFERENCE: AppConfig['inference'] = {
  sessionCacheMaxCount: 8,
  sessionCacheMaxBytes: 64 * 1024 * 1024,
  intraOpThreads: 1,
  timeoutMs: 10_000,
  batchWindowMs: 0, // batching has its own spec (onnx-runtime.batching.spec.ts)
  batchMaxRows: 64,
};
const LIMITS: AppConfig['limits'] = { jsonBodyBytes: 1 << 20, uploadBytes: 1 << 24, inputElements: 100_000 };

const LINREG_ROW = [-0.5096521973609924, -0.4380742907524109, -1.2527953386306763, 0.7774903774261475];

/** The provider with its seams instrumented: counts sessions made and released, can slow runs down. */
class TestProvider extends OnnxRuntimeProvider {
  created = 0;
  released = 0;
  runDelayMs = 0;
  runBusyMs = 0;
  runError: Error | null = null;

  protected override async createSession(bytes: Uint8Array): Promise<InferenceSession> {
    this.created++;
    const session = await super.createSession(bytes);
    const release = session.release.bind(session);
    Object.defineProperty(session, 'release', {
      value: async () => {
        this.released++;
        await release();
      },
    });
    return session;
  }

  protected override async runSession(
    session: InferenceSession,
    feeds: Record<string, Tensor>,
    fetches: string[],
  ): Promise<Record<string, Tensor>> {
    if (this.runError) throw this.runError;
    if (this.runDelayMs) await new Promise((resolve) => setTimeout(resolve, this.runDelayMs));
    if (this.runBusyMs) {
      // onnxruntime-node runs on the JS thread: a slow model blocks timers just like this loop does.
      const until = Date.now() + this.runBusyMs;
      while (Date.now() < until);
    }
    return super.runSession(session, feeds, fetches);
  }
}

function make(inference: Partial<AppConfig['inference']> = {}, limits: Partial<AppConfig['limits']> = {}) {
  return new TestProvider({ ...INFERENCE, ...inference }, { ...LIMITS, ...limits });
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('OnnxRuntimeProvider.inspect', () => {
  const provider = make();

  it('returns metadata, specs, schemas and the sha256 of the bytes', async () => {
    const bytes = readFileSync(fixture('skl-logreg-zipmap').filePath);
    const inspection = await provider.inspect(bytes);
    expect(inspection.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(inspection.inputs).toEqual([{ name: 'input', elementType: 'float32', shape: [1, 3] }]);
    expect(inspection.outputs).toEqual([
      { name: 'label', elementType: 'int64', shape: [1] },
      { name: 'probabilities', elementType: 'sequence', shape: [] },
    ]);
    expect(inspection.metadata).toMatchObject({
      producerName: 'OnnxMLTools',
      producerVersion: '1.3.1',
      irVersion: 3,
      opsets: [{ domain: 'ai.onnx.ml', version: 1 }],
      sha256: inspection.sha256,
      fixedBatch: true,
      zipMap: [
        {
          output: 'probabilities',
          probabilityTensor: 'probability_tensor_normalized',
          classLabels: [0, 1, 2],
        },
      ],
    });
    expect(inspection.metadata.graphOutputs).toEqual([
      { name: 'label', elementType: 'int64', shape: [1], type: 'tensor(int64)' },
      { name: 'probabilities', elementType: 'sequence', shape: [], type: 'seq(map(int64,tensor(float32)))' },
    ]);
    expect(inspection.inputSchema).toMatchObject({ required: ['input'], additionalProperties: false });
    expect(inspection.outputSchema).toMatchObject({
      properties: { probabilities: { type: 'array', items: { required: ['0', '1', '2'] } } },
    });
  });

  it('keeps symbolic dims by name', async () => {
    const inspection = await provider.inspect(readFileSync(fixture('pt-tiny-multiio').filePath));
    expect(inspection.inputs).toEqual([
      { name: 'x', elementType: 'int32', shape: ['batch_size', 100] },
      { name: 'y', elementType: 'float32', shape: ['batch_size', 100] },
    ]);
    expect(inspection.metadata.fixedBatch).toBe(false);
  });

  it.each([
    ['empty bytes', Buffer.alloc(0), /not a valid ONNX model: the file is empty/],
    [
      'truncated bytes',
      readFileSync(fixture('skl-linreg').filePath).subarray(0, 120),
      /not a valid ONNX model/,
    ],
    [
      'random bytes',
      Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 251)),
      /not a valid ONNX/,
    ],
    ['a JSON file', Buffer.from('{"model": "nope"}'), /not a valid ONNX model/],
  ])('refuses %s with MODEL_LOAD_FAILED', async (_what, bytes, message) => {
    const error = await rejection(provider.inspect(bytes));
    expect(error.code).toBe('MODEL_LOAD_FAILED');
    expect(error.status).toBe(422);
    expect(error.message).toMatch(message);
  });

  it('refuses a well-formed model the engine cannot load, with the engine reason', async () => {
    const error = await rejection(provider.inspect(readFileSync(fixture('onnx-strnorm-str').filePath)));
    expect(error.code).toBe('MODEL_LOAD_FAILED');
    expect(error.message).toContain('Failed to construct locale with name:en_US.UTF-8');
  });
});

describe('OnnxRuntimeProvider.predict', () => {
  let provider: TestProvider;
  beforeEach(() => {
    provider = make();
  });
  afterEach(() => provider.onModuleDestroy());

  it('accepts a bare nested array for a one-input model', async () => {
    const keyed = await provider.predict(fixture('skl-linreg'), { input: [LINREG_ROW] });
    const bare = await provider.predict(fixture('skl-linreg'), [LINREG_ROW]);
    expect(bare.output).toEqual(keyed.output);
    expect((keyed.output.variable as number[][])[0][0]).toBeCloseTo(-41.7725830078125, 3);
  });

  it('runs a batch-of-1 model row by row and concatenates rows, ZipMaps included', async () => {
    const rows = [
      [0, 1],
      [1, 1],
      [2, 0],
    ];
    const result = await provider.predict(fixture('skl-rf-strlabel'), { input: rows });
    expect(result.output.label).toEqual(['A', 'A', 'A']);
    const maps = result.output.probabilities as Array<Record<string, number>>;
    expect(maps).toHaveLength(3);
    for (const row of maps) {
      expect(Object.keys(row)).toEqual(['A', 'B']);
      expect(row.A + row.B).toBeCloseTo(1, 5);
    }
  });

  it('gives the same rows one at a time as in one request', async () => {
    const rows = [LINREG_ROW, LINREG_ROW.map((v) => v * 2), LINREG_ROW.map((v) => -v)];
    const together = (await provider.predict(fixture('skl-linreg'), [...rows])).output.variable as number[][];
    for (let i = 0; i < rows.length; i++) {
      const alone = (await provider.predict(fixture('skl-linreg'), [rows[i]])).output.variable as number[][];
      expect(together[i]).toEqual(alone[0]);
    }
  });

  it('splits every input of a multi-input batch-of-1 model by row (int64 + float)', async () => {
    const result = await provider.predict(fixture('skl-pipeline-mixed'), {
      input1: [[0], [0], [1], [1]],
      input2: [[0], [0], [1], [1]],
    });
    // The oracle in cases.json (scikit-learn): [-3, -3, -3, -3, 1, 1, 1, 1] as [4, 2].
    expect(result.output.variable1).toEqual([
      [-3, -3],
      [-3, -3],
      [1, 1],
      [1, 1],
    ]);
  });

  it('refuses inputs with different row counts in a batch-of-1 model', async () => {
    const error = await rejection(
      provider.predict(fixture('skl-pipeline-mixed'), { input1: [[0], [1]], input2: [[0]] }),
    );
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe('inputs must have the same number of rows: "input1" has 2, "input2" has 1');
  });

  it('names missing and unknown inputs', async () => {
    const error = await rejection(provider.predict(fixture('pt-tiny-multiio'), { x: [[1]], z: [[1]] }));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe('missing input "y"; unknown input "z" (model inputs: "x", "y")');
  });

  it('refuses wrong shapes and types before running, naming input, expected and received', async () => {
    const shape = await rejection(provider.predict(fixture('skl-linreg'), { input: [[1, 2, 3]] }));
    expect(shape.code).toBe('INVALID_INPUT');
    expect(shape.message).toBe('input "input": expected shape [1, 4] (or [N, 4] rows), got [1, 3]');
    const type = await rejection(provider.predict(fixture('skl-labelenc-str'), { input: [[3]] }));
    expect(type.message).toBe('input "input": expected string values, got 3 at [0][0]');
    expect(provider.created).toBe(2); // the models loaded; nothing ran
  });

  it('refuses more input elements than limits.inputElements', async () => {
    provider = make({}, { inputElements: 10 });
    const error = await rejection(
      provider.predict(fixture('tf-keras-mlp9'), { dense_input: Array(6).fill([1, 2]) }),
    );
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe('input "dense_input": 12 elements exceed the limit of 10');
  });

  it('maps engine errors on user input to INVALID_INPUT and other engine errors to INFERENCE_FAILED', async () => {
    provider.runError = new Error(
      'Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))',
    );
    const input = await rejection(provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]));
    expect(input.code).toBe('INVALID_INPUT');
    expect(input.message).toContain('Unexpected input data type');
    provider.runError = new Error('Non-zero status code returned while running Gemm node');
    const other = await rejection(provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]));
    expect(other.code).toBe('INFERENCE_FAILED');
    expect(other.message).toBe('Non-zero status code returned while running Gemm node');
  });

  it('refuses a model file that does not match its recorded sha256', async () => {
    const error = await rejection(
      provider.predict({ ...fixture('skl-linreg'), sha256: 'f'.repeat(64) }, [LINREG_ROW]),
    );
    expect(error.code).toBe('MODEL_LOAD_FAILED');
    expect(provider.created).toBe(0);
  });

  it('reports a measured inference time', async () => {
    provider.runDelayMs = 30;
    const result = await provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]);
    expect(result.inferenceTimeMs).toBeGreaterThanOrEqual(25);
    expect(result.inferenceTimeMs).toBeLessThan(5000);
  });
});

describe('OnnxRuntimeProvider session cache', () => {
  it('loads a session once under concurrent first calls (single flight)', async () => {
    const provider = make();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => provider.predict(fixture('skl-linreg'), [LINREG_ROW])),
    );
    expect(provider.created).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r.output))).size).toBe(1);
    expect(provider.stats()).toEqual({ models: 1, bytes: fileSize('skl-linreg') });
    provider.onModuleDestroy();
  });

  it('retries a failed load on the next call instead of caching the failure', async () => {
    const provider = make();
    const model = { id: 'missing', filePath: path.join(FIXTURES, 'no-such-model.onnx') };
    expect((await rejection(provider.predict(model, [1]))).code).toBe('INTERNAL');
    expect((await rejection(provider.predict(model, [1]))).code).toBe('INTERNAL');
    expect(provider.stats()).toEqual({ models: 0, bytes: 0 });
  });

  it('evicts the least recently used session by count and releases it', async () => {
    const provider = make({ sessionCacheMaxCount: 2 });
    await provider.predict(fixture('skl-linreg'), [LINREG_ROW]);
    await provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]);
    await provider.predict(fixture('skl-linreg'), [LINREG_ROW]); // now mlp9 is the least recent
    await provider.predict(fixture('skl-rf-strlabel'), [[0, 1]]);
    expect(provider.stats()).toEqual({
      models: 2,
      bytes: fileSize('skl-linreg') + fileSize('skl-rf-strlabel'),
    });
    await flush();
    expect(provider.released).toBe(1);
    expect(provider.created).toBe(3);
    await provider.predict(fixture('skl-linreg'), [LINREG_ROW]); // still cached
    expect(provider.created).toBe(3);
    await provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]); // was evicted: loads again
    expect(provider.created).toBe(4);
    provider.onModuleDestroy();
  });

  it('evicts by bytes (file size) as well as by count', async () => {
    const linreg = fileSize('skl-linreg');
    const mlp = fileSize('tf-keras-mlp9');
    const provider = make({ sessionCacheMaxBytes: linreg + mlp - 1 });
    await provider.predict(fixture('skl-linreg'), [LINREG_ROW]);
    expect(provider.stats()).toEqual({ models: 1, bytes: linreg });
    await provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]);
    expect(provider.stats()).toEqual({ models: 1, bytes: mlp });
    await flush();
    expect(provider.released).toBe(1);
    provider.onModuleDestroy();
  });

  it('keeps a model bigger than the byte budget alone rather than refusing it', async () => {
    const provider = make({ sessionCacheMaxBytes: 1024 });
    await provider.predict(fixture('skl-linreg'), [LINREG_ROW]);
    await provider.predict(fixture('pt-mnist-mlp'), [Array(784).fill(0)]);
    expect(provider.stats()).toEqual({ models: 1, bytes: fileSize('pt-mnist-mlp') });
    provider.onModuleDestroy();
  });

  it('evict drops and releases a session; the next call loads it again', async () => {
    const provider = make();
    await provider.predict(fixture('skl-linreg'), [LINREG_ROW]);
    provider.evict('skl-linreg');
    expect(provider.stats()).toEqual({ models: 0, bytes: 0 });
    await flush();
    expect(provider.released).toBe(1);
    await provider.predict(fixture('skl-linreg'), [LINREG_ROW]);
    expect(provider.created).toBe(2);
    provider.evict('unknown-id'); // no-op
    provider.onModuleDestroy();
    await flush();
    expect(provider.released).toBe(2);
  });

  it('does not release a session while a prediction is still using it', async () => {
    const provider = make();
    await provider.predict(fixture('skl-linreg'), [LINREG_ROW]);
    provider.runDelayMs = 40;
    const running = provider.predict(fixture('skl-linreg'), [LINREG_ROW, LINREG_ROW, LINREG_ROW]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    provider.evict('skl-linreg');
    await flush();
    expect(provider.released).toBe(0);
    const result = await running;
    expect(result.output.variable).toHaveLength(3);
    await flush();
    expect(provider.released).toBe(1);
  });

  it('does not cache a session evicted while it was loading', async () => {
    const provider = make();
    const pending = provider.predict(fixture('skl-linreg'), [LINREG_ROW]);
    provider.evict('skl-linreg');
    await pending;
    expect(provider.stats().models).toBe(0);
    await flush();
    expect(provider.released).toBe(1);
  });

  it('replaces a cached session when the model file hash changes', async () => {
    const provider = make();
    const bytes = readFileSync(fixture('skl-linreg').filePath);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await provider.predict({ ...fixture('skl-linreg'), sha256 }, [LINREG_ROW]);
    await provider.predict({ ...fixture('skl-linreg'), sha256 }, [LINREG_ROW]);
    expect(provider.created).toBe(1);
    const other = readFileSync(fixture('tf-keras-mlp9').filePath);
    const otherSha = createHash('sha256').update(other).digest('hex');
    await provider.predict(
      { id: 'skl-linreg', filePath: fixture('tf-keras-mlp9').filePath, sha256: otherSha },
      [[1, 2]],
    );
    expect(provider.created).toBe(2);
    expect(provider.stats()).toEqual({ models: 1, bytes: other.length });
    provider.onModuleDestroy();
  });
});

describe('OnnxRuntimeProvider timeout', () => {
  it('rejects with INFERENCE_TIMEOUT when a run outlasts timeoutMs (async delay)', async () => {
    const provider = make({ timeoutMs: 20 });
    await provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]);
    provider.runDelayMs = 200;
    const started = Date.now();
    const error = await rejection(provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]));
    expect(error.code).toBe('INFERENCE_TIMEOUT');
    expect(error.status).toBe(504);
    expect(error.message).toBe('inference took longer than 20 ms');
    expect(Date.now() - started).toBeLessThan(150); // answered at the deadline, not when the run ended
    provider.onModuleDestroy();
  });

  it('refuses the answer of a run that blocked the event loop past the deadline', async () => {
    const provider = make({ timeoutMs: 20 });
    await provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]);
    provider.runBusyMs = 40;
    const error = await rejection(provider.predict(fixture('tf-keras-mlp9'), [[1, 2]]));
    expect(error.code).toBe('INFERENCE_TIMEOUT');
    provider.onModuleDestroy();
  });

  it('stops running further rows of a batch-of-1 request once timed out', async () => {
    const provider = make({ timeoutMs: 30 });
    await provider.predict(fixture('skl-linreg'), [LINREG_ROW]);
    const runs = jest.spyOn(provider as unknown as { runSession: () => unknown }, 'runSession');
    provider.runDelayMs = 20;
    const error = await rejection(provider.predict(fixture('skl-linreg'), Array(20).fill(LINREG_ROW)));
    expect(error.code).toBe('INFERENCE_TIMEOUT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(runs.mock.calls.length).toBeLessThan(5);
    provider.onModuleDestroy();
  });
});
