import * as path from 'node:path';
import { flatten, mismatches, ModelFolder, nest, shapeOf } from '../../src/inference/testing/model-cases';
import type { TestApp } from '../support/test-app';

export const FIXTURES_DIR = path.resolve(__dirname, '../fixtures/models');
export const SHARED_MODELS_DIR = path.resolve(__dirname, '../../../shared/models');

export interface UploadedModel {
  id: string;
  name: string;
  version: number;
  status: string;
  inputSchema: Record<string, unknown> | null;
}

const MODEL_TYPES = ['sklearn', 'tensorflow', 'pytorch'];

/**
 * Uploads a model folder's `model.onnx` through `POST /models`. The model type is the manifest's origin when it
 * is one of ours (and left to inference from the producer otherwise unless `modelType` is given).
 */
export async function uploadFolder(
  t: TestApp,
  token: string,
  folder: ModelFolder,
  options: { name?: string; modelType?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const origin = typeof folder.manifest.origin === 'string' ? folder.manifest.origin : '';
  const modelType = options.modelType ?? (MODEL_TYPES.includes(origin) ? origin : undefined);
  let req = t
    .http()
    .post('/api/v1/models')
    .set('Authorization', `Bearer ${token}`)
    .field('name', options.name ?? folder.name)
    .attach('file', folder.modelPath);
  if (modelType) req = req.field('modelType', modelType);
  const res = await req;
  return { status: res.status, body: res.body as Record<string, unknown> };
}

export async function uploadOk(
  t: TestApp,
  token: string,
  folder: ModelFolder,
  options: { name?: string; modelType?: string } = {},
): Promise<UploadedModel> {
  const res = await uploadFolder(t, token, folder, options);
  if (res.status !== 201)
    throw new Error(`upload of ${folder.name} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as UploadedModel;
}

/** The request `input` of one case: `{name: nestedArray}` from the flat data + dims of cases.json. */
export function caseInput(folder: ModelFolder, caseIndex: number): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [name, tensor] of Object.entries(folder.cases.cases[caseIndex].inputs)) {
    input[name] = nest(tensor.data, tensor.dims);
  }
  return input;
}

/** A ZipMap output (one `{label: probability}` per row) as a dense row-major list in the oracle's key order. */
function denseFromMaps(rows: unknown, keys: Array<string | number>): unknown[] | string {
  if (!Array.isArray(rows))
    return `expected an array of per-row maps, got ${JSON.stringify(rows)?.slice(0, 80)}`;
  const dense: unknown[] = [];
  const want = keys.map(String);
  for (const row of rows as Array<Record<string, unknown>>) {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) return 'a ZipMap row is not an object';
    const got = Object.keys(row);
    // Same labels in the ZipMap's class order.
    if (JSON.stringify(got) !== JSON.stringify(want))
      return `row keys ${JSON.stringify(got)} != ${JSON.stringify(want)}`;
    for (const key of want) dense.push(row[key]);
  }
  return dense;
}

/**
 * Problems with an `output` against a case's expected outputs (empty when it matches within
 * `|got - exp| <= atol + rtol * |exp|`). pt-tiny-multiio has no oracle numbers: shapes [rows, 10] and
 * output1 = output2 + output3.
 */
export function compareOutputs(
  folder: ModelFolder,
  caseIndex: number,
  output: Record<string, unknown>,
): string[] {
  const testCase = folder.cases.cases[caseIndex];
  const tolerance = folder.cases.tolerance;
  if (folder.name === 'pt-tiny-multiio') {
    const rows = testCase.inputs.x.dims[0];
    const problems: string[] = [];
    for (const name of ['output1', 'output2', 'output3']) {
      const shape = shapeOf(output[name]);
      if (JSON.stringify(shape) !== JSON.stringify([rows, 10]))
        problems.push(`${name} shape ${JSON.stringify(shape)}`);
    }
    if (problems.length > 0) return problems;
    const [o1, o2, o3] = ['output1', 'output2', 'output3'].map((o) => flatten(output[o]) as number[]);
    return mismatches(
      o1,
      o2.map((v, k) => v + o3[k]),
      tolerance,
    ).map((p) => `output1 != output2 + output3: ${p}`);
  }
  const problems: string[] = [];
  if (Object.keys(testCase.outputs).length === 0) return ['the case has no expected outputs'];
  for (const [name, expected] of Object.entries(testCase.outputs)) {
    const got = output[name];
    if (got === undefined) {
      problems.push(`output "${name}" missing (got ${Object.keys(output).join(', ')})`);
      continue;
    }
    const keys = folder.zipMapKeys[name];
    if (keys) {
      const dense = denseFromMaps(got, keys);
      if (typeof dense === 'string') {
        problems.push(`${name}: ${dense}`);
        continue;
      }
      if ((got as unknown[]).length !== expected.dims[0])
        problems.push(`${name}: ${(got as unknown[]).length} rows`);
      problems.push(...mismatches(dense, expected.data, tolerance).map((p) => `${name}${p}`));
    } else {
      const shape = shapeOf(got);
      if (JSON.stringify(shape) !== JSON.stringify(expected.dims)) {
        problems.push(`${name}: shape ${JSON.stringify(shape)} != ${JSON.stringify(expected.dims)}`);
        continue;
      }
      problems.push(...mismatches(flatten(got), expected.data, tolerance).map((p) => `${name}${p}`));
    }
  }
  return problems;
}

export interface PredictionRow {
  id: string;
  model_id: string;
  user_id: string;
  status: string;
  input_data: unknown;
  output_data: unknown;
  inference_time_ms: number | null;
  error_message: string | null;
  /** as the driver returns it (a string) */
  created_at: string;
}

/** Rows of predictions made by a user on a model, newest first. */
export async function predictionRows(t: TestApp, userId: string, modelId: string): Promise<PredictionRow[]> {
  return t.orm.em
    .getConnection()
    .execute<PredictionRow[]>(
      'select * from predictions where user_id = ? and model_id = ? order by created_at desc, id desc',
      [userId, modelId],
    );
}

export async function predictionRow(t: TestApp, id: string): Promise<PredictionRow | undefined> {
  const rows = await t.orm.em
    .getConnection()
    .execute<PredictionRow[]>('select * from predictions where id = ?', [id]);
  return rows[0];
}

/** Polls `GET /predictions/{id}` until it leaves `pending` (or the time is up). */
export async function waitForOutcome(
  t: TestApp,
  token: string,
  id: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.http().get(`/api/v1/predictions/${id}`).set('Authorization', `Bearer ${token}`);
    if (res.status !== 200) throw new Error(`GET prediction: ${res.status} ${JSON.stringify(res.body)}`);
    const body = res.body as Record<string, unknown>;
    if (body.status !== 'pending' || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
