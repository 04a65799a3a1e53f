/**
 * @jest-environment ./src/inference/testing/onnx-jest-environment.ts
 */
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { AppError } from '../common/app-error';
import { compileInputValidator } from './json-schema';
import { OnnxRuntimeProvider } from './onnx-runtime.provider';
import {
  flatten,
  listModelFolders,
  loadModelFolder,
  mismatches,
  ModelFolder,
  nest,
  shapeOf,
} from './testing/model-cases';

/**
 * Replays every case of every model in shared/models through `predict`, the way an HTTP client would send it
 * (nested JSON arrays keyed by input name), and compares with the oracle the exporting framework produced.
 */
const MODELS_DIR = path.resolve(__dirname, '../../../shared/models');
const NOT_LOADABLE = new Set(['onnx-strnorm-str']);

jest.setTimeout(60_000);

function provider(): OnnxRuntimeProvider {
  return new OnnxRuntimeProvider(
    {
      sessionCacheMaxCount: 32,
      sessionCacheMaxBytes: 512 * 1024 * 1024,
      intraOpThreads: 1,
      timeoutMs: 30_000,
      batchWindowMs: 2,
      batchMaxRows: 64,
    },
    { jsonBodyBytes: 2 * 1024 * 1024, uploadBytes: 100 * 1024 * 1024, inputElements: 1_000_000 },
  );
}

function requestBody(folder: ModelFolder, caseIndex: number): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, tensor] of Object.entries(folder.cases.cases[caseIndex].inputs)) {
    body[name] = nest(tensor.data, tensor.dims);
  }
  return body;
}

/** A ZipMap output as a dense [N, classes] list in the oracle's column order, checking each row's keys. */
function denseFromMaps(rows: unknown, keys: Array<string | number>): unknown[] {
  expect(Array.isArray(rows)).toBe(true);
  const dense: unknown[] = [];
  for (const row of rows as Array<Record<string, unknown>>) {
    expect(Object.keys(row).sort()).toEqual(keys.map(String).sort());
    for (const key of keys) dense.push(row[String(key)]);
  }
  return dense;
}

const folders = listModelFolders(MODELS_DIR).map((name) => loadModelFolder(MODELS_DIR, name));

describe('OnnxRuntimeProvider on every model in shared/models', () => {
  const engine = provider();
  afterAll(() => engine.onModuleDestroy());

  it('finds the twenty shared models', () => {
    expect(folders).toHaveLength(20);
  });

  describe.each(folders.filter((f) => !NOT_LOADABLE.has(f.name)).map((f) => [f.name, f] as const))(
    '%s',
    (name, folder) => {
      it('inspects: inputs match the manifest, the derived schema accepts the cases and refuses a wrong rank', async () => {
        const inspection = await engine.inspect(readFileSync(folder.modelPath));
        const manifestInputs = (folder.manifest.inputs as Array<{ name: string }>).map((i) => i.name);
        expect(inspection.inputs.map((i) => i.name)).toEqual(manifestInputs);
        const validate = compileInputValidator(inspection.inputSchema);
        folder.cases.cases.forEach((_, i) => expect(validate(requestBody(folder, i))).toBeNull());
        // One extra nesting level on the first input is a wrong rank for every model here.
        const body = requestBody(folder, 0);
        const [first] = Object.keys(body);
        expect(validate({ ...body, [first]: [body[first]] })).toMatch(new RegExp(`^input "${first}"`));
        await expect(
          engine.predict({ id: name, filePath: folder.modelPath }, { ...body, [first]: [body[first]] }),
        ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      });

      it.each(folder.cases.cases.map((c, i) => [c.set, i] as const))(
        'gives the expected outputs for %s',
        async (_set, i) => {
          const testCase = folder.cases.cases[i];
          const result = await engine.predict(
            { id: name, filePath: folder.modelPath },
            requestBody(folder, i),
          );
          expect(typeof result.inferenceTimeMs).toBe('number');
          expect(result.inferenceTimeMs).toBeGreaterThanOrEqual(0);

          if (name === 'pt-tiny-multiio') {
            // No expected numbers: only shapes and output1 = output2 + output3.
            const rows = testCase.inputs.x.dims[0];
            for (const out of ['output1', 'output2', 'output3'])
              expect(shapeOf(result.output[out])).toEqual([rows, 10]);
            const [o1, o2, o3] = ['output1', 'output2', 'output3'].map(
              (o) => flatten(result.output[o]) as number[],
            );
            const sum = o2.map((v, k) => v + o3[k]);
            expect(mismatches(o1, sum, folder.cases.tolerance)).toEqual([]);
            return;
          }

          expect(Object.keys(testCase.outputs).length).toBeGreaterThan(0);
          for (const [output, expected] of Object.entries(testCase.outputs)) {
            const got = result.output[output];
            const keys = folder.zipMapKeys[output];
            const flat = keys ? denseFromMaps(got, keys) : flatten(got);
            if (keys) expect(shapeOf(got)).toEqual([expected.dims[0]]);
            else expect(shapeOf(got)).toEqual(expected.dims);
            expect({ output, problems: mismatches(flat, expected.data, folder.cases.tolerance) }).toEqual({
              output,
              problems: [],
            });
          }
          if (name === 'caffe2-light-squeezenet') {
            // Constant weights: every class scores 0.001.
            for (const v of flatten(result.output.softmaxout_1) as number[]) expect(v).toBeCloseTo(0.001, 6);
          }
        },
      );
    },
  );

  it('skl-sgd-dynbatch returns per-row probability maps whose best class is the label', async () => {
    const folder = folders.find((f) => f.name === 'skl-sgd-dynbatch')!;
    const result = await engine.predict(
      { id: folder.name, filePath: folder.modelPath },
      requestBody(folder, 0),
    );
    const labels = result.output.output_label as number[];
    const maps = result.output.output_probability as Array<Record<string, number>>;
    expect(maps).toHaveLength(labels.length);
    maps.forEach((row, r) => {
      const best = Object.entries(row).reduce((a, b) => (b[1] > a[1] ? b : a));
      expect(Number(best[0])).toBe(labels[r]);
    });
  });

  it('refuses onnx-strnorm-str at inspect with the engine reason (no en_US.UTF-8 locale here)', async () => {
    const folder = folders.find((f) => f.name === 'onnx-strnorm-str')!;
    const bytes = readFileSync(folder.modelPath);
    const error = await engine.inspect(bytes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('MODEL_LOAD_FAILED');
    expect((error as AppError).message).toMatch(/StringNormalizer|locale/);
    await expect(
      engine.predict({ id: folder.name, filePath: folder.modelPath }, { x: ['a'] }),
    ).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
    });
  });
});
