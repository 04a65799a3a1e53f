/**
 * @jest-environment ./src/inference/testing/onnx-jest-environment.ts
 */
import * as path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { AppError } from '../common/app-error';
import type { AppConfig } from '../config/app.config';
import { LoadableModel } from './inference.types';
import { concatRows, isBatchable, OnnxRuntimeProvider } from './onnx-runtime.provider';
import { loadModelFolder, nest } from './testing/model-cases';

const FIXTURES = path.resolve(__dirname, '../../test/fixtures/models');
const SHARED = path.resolve(__dirname, '../../../shared/models');

const INFERENCE: AppConfig['inference'] = {
  sessionCacheMaxCount: 8,
  sessionCacheMaxBytes: 64 * 1024 * 1024,
  intraOpThreads: 1,
  timeoutMs: 10_000,
  batchWindowMs: 20,
  batchMaxRows: 64,
};
const LIMITS: AppConfig['limits'] = {
  jsonBodyBytes: 1 << 20,
  uploadBytes: 1 << 24,
  inputElements: 1_000_000,
};

/** Counts `session.run` calls and the rows each one was fed; can fail batched runs on demand. */
class CountingProvider extends OnnxRuntimeProvider {
  runRows: number[] = [];
  failBatchedRuns = false;

  protected override runSession(
    session: InferenceSession,
    feeds: Record<string, Tensor>,
    fetches: string[],
  ): Promise<Record<string, Tensor>> {
    const rows = Object.values(feeds)[0].dims[0];
    this.runRows.push(rows);
    if (this.failBatchedRuns && rows > 1) return Promise.reject(new Error('batched run refused by the test'));
    return super.runSession(session, feeds, fetches);
  }
}

function make(inference: Partial<AppConfig['inference']> = {}): CountingProvider {
  return new CountingProvider({ ...INFERENCE, ...inference }, LIMITS);
}

interface Rows {
  model: LoadableModel;
  /** One single-row request body per row of the model's first case. */
  rows: Array<Record<string, unknown>>;
}

function caseRows(root: string, name: string): Rows {
  const folder = loadModelFolder(root, name);
  const inputs = Object.entries(folder.cases.cases[0].inputs);
  const perInput = inputs.map(
    ([input, tensor]) => [input, nest(tensor.data, tensor.dims) as unknown[]] as const,
  );
  const count = perInput[0][1].length;
  const rows = Array.from({ length: count }, (_, r) =>
    Object.fromEntries(perInput.map(([input, nested]) => [input, [nested[r]]])),
  );
  return { model: { id: name, filePath: folder.modelPath }, rows };
}

const MODELS: Array<[string, () => Rows]> = [
  ['tf-keras-genre14', () => caseRows(FIXTURES, 'tf-keras-genre14')],
  ['tf-keras-mlp9', () => caseRows(FIXTURES, 'tf-keras-mlp9')],
  ['skl-sgd-dynbatch (ZipMap)', () => caseRows(SHARED, 'skl-sgd-dynbatch')],
];

describe('dynamic batching', () => {
  const providers: OnnxRuntimeProvider[] = [];
  const track = (p: CountingProvider) => (providers.push(p), p);
  afterAll(() => providers.forEach((p) => p.onModuleDestroy()));

  describe.each(MODELS)('%s', (_label, load) => {
    const { model, rows } = load();

    it('gives every request exactly the output it gets alone, in fewer runs', async () => {
      const alone = track(make({ batchWindowMs: 0 }));
      const expected = [];
      for (const row of rows) expected.push((await alone.predict(model, row)).output);
      expect(alone.runRows.every((n) => n === 1)).toBe(true);

      const batched = track(make());
      const results = await Promise.all(rows.map((row) => batched.predict(model, row)));
      expect(results.map((r) => r.output)).toEqual(expected);
      expect(batched.runRows).toEqual(
        Array.from({ length: Math.ceil(rows.length / 64) }, (_, i) => Math.min(64, rows.length - i * 64)),
      );
    });

    it('splits back requests of several rows each', async () => {
      const alone = track(make({ batchWindowMs: 0 }));
      const batched = track(make());
      // Requests of 1, 2, 3… rows, taken in order from the case.
      const requests: Array<Record<string, unknown>> = [];
      for (let start = 0, size = 1; start < rows.length; start += size, size++) {
        const part = rows.slice(start, start + size);
        requests.push(
          Object.fromEntries(Object.keys(part[0]).map((k) => [k, part.flatMap((r) => r[k] as unknown[])])),
        );
      }
      const expected = [];
      for (const request of requests) expected.push((await alone.predict(model, request)).output);
      const results = await Promise.all(requests.map((request) => batched.predict(model, request)));
      expect(results.map((r) => r.output)).toEqual(expected);
      expect(batched.runRows.length).toBeLessThan(requests.length);
    });
  });

  it('runs a batch as soon as it holds batchMaxRows rows', async () => {
    const { model, rows } = caseRows(FIXTURES, 'tf-keras-mlp9'); // 2 rows
    const provider = track(make({ batchMaxRows: 4, batchWindowMs: 3_000 }));
    const ten = Array.from({ length: 10 }, (_, i) => rows[i % rows.length]);
    const started = Date.now();
    const pending = ten.map((row) => provider.predict(model, row));
    // 4 + 4 run at once; the last 2 wait for the (long) window unless flushed — so only check the full ones here.
    await Promise.all(pending.slice(0, 8));
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(provider.runRows).toEqual([4, 4]);
    await Promise.all(pending);
    expect(provider.runRows).toEqual([4, 4, 2]);
  }, 15_000);

  it('does not batch models with a fixed batch of 1, nor with the window at 0', async () => {
    const linreg = { id: 'skl-linreg', filePath: path.join(FIXTURES, 'skl-linreg', 'model.onnx') };
    const on = track(make());
    await Promise.all([1, 2, 3].map((v) => on.predict(linreg, [[v, v, v, v]])));
    expect(on.runRows).toEqual([1, 1, 1]);

    const { model, rows } = caseRows(FIXTURES, 'tf-keras-genre14');
    const off = track(make({ batchWindowMs: 0 }));
    await Promise.all(rows.slice(0, 5).map((row) => off.predict(model, row)));
    expect(off.runRows).toEqual([1, 1, 1, 1, 1]);
  });

  it('keeps a bad request out of the batch: it fails alone, the others succeed', async () => {
    const { model, rows } = caseRows(FIXTURES, 'tf-keras-mlp9');
    const provider = track(make());
    const bad = { dense_input: [[1, 'two']] };
    const settled = await Promise.allSettled([
      provider.predict(model, rows[0]),
      provider.predict(model, bad),
      provider.predict(model, rows[1]),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (settled[1] as PromiseRejectedResult).reason as AppError;
    expect(reason).toBeInstanceOf(AppError);
    expect(reason.code).toBe('INVALID_INPUT');
    expect(provider.runRows).toEqual([2]);
  });

  it('falls back to one run per request when the batched run fails', async () => {
    const { model, rows } = caseRows(FIXTURES, 'tf-keras-genre14');
    const alone = track(make({ batchWindowMs: 0 }));
    const expected = await Promise.all(rows.slice(0, 3).map((row) => alone.predict(model, row)));
    const provider = track(make());
    provider.failBatchedRuns = true;
    const results = await Promise.all(rows.slice(0, 3).map((row) => provider.predict(model, row)));
    expect(results.map((r) => r.output)).toEqual(expected.map((r) => r.output));
    expect(provider.runRows).toEqual([3, 1, 1, 1]);
  });

  it('batches requests only with requests of the same inner shape', async () => {
    // pt-tiny-multiio: two inputs [batch_size, 100]; all requests share the inner shape, so they coalesce.
    const { model, rows } = caseRows(FIXTURES, 'pt-tiny-multiio');
    const alone = track(make({ batchWindowMs: 0 }));
    const expected = [];
    for (const row of rows) expected.push((await alone.predict(model, row)).output);
    const provider = track(make());
    const results = await Promise.all(rows.map((row) => provider.predict(model, row)));
    expect(results.map((r) => r.output)).toEqual(expected);
    expect(provider.runRows).toEqual([rows.length]);
  });
});

describe('isBatchable', () => {
  it('needs a dynamic leading dim on every input and output (ZipMaps are per row)', () => {
    const f32 = (shape: Array<number | string | null>) => ({
      name: 'x',
      elementType: 'float32' as const,
      shape,
    });
    expect(isBatchable([f32(['N', 4])], [f32(['N', 1])])).toBe(true);
    expect(
      isBatchable([f32([null, 4])], [f32([null]), { name: 'p', elementType: 'sequence', shape: [] }]),
    ).toBe(true);
    expect(isBatchable([f32([1, 4])], [f32([1, 1])])).toBe(false);
    expect(isBatchable([f32(['N', 4])], [f32([3])])).toBe(false);
    expect(isBatchable([f32(['N', 4]), f32([2, 4])], [f32(['N'])])).toBe(false);
    expect(
      isBatchable([{ name: 'x', elementType: 'float32', shape: [], rankUnknown: true }], [f32(['N'])]),
    ).toBe(false);
  });
});

describe('concatRows', () => {
  it('stacks typed and string tensors along dim 0', () => {
    const stacked = concatRows([
      [{ name: 'a', type: 'float32', data: new Float32Array([1, 2]), dims: [1, 2] }],
      [{ name: 'a', type: 'float32', data: new Float32Array([3, 4, 5, 6]), dims: [2, 2] }],
    ]);
    expect(stacked[0].dims).toEqual([3, 2]);
    expect(Array.from(stacked[0].data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stacked[0].data).toBeInstanceOf(Float32Array);
    const strings = concatRows([
      [{ name: 's', type: 'string', data: ['a'], dims: [1] }],
      [{ name: 's', type: 'string', data: ['b', 'c'], dims: [2] }],
    ]);
    expect(strings[0]).toEqual({ name: 's', type: 'string', data: ['a', 'b', 'c'], dims: [3] });
  });
});
