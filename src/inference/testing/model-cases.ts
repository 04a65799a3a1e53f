import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Helpers for specs that replay the shared model cases (shared/models/<name>/cases.json). Kept free of Jest
 * globals so that the build (which excludes only *.spec.ts) still compiles it.
 */

export interface CaseTensor {
  type: string;
  dims: number[];
  data: unknown[];
}

export interface ModelCases {
  model: string;
  tolerance: { rtol: number; atol: number };
  cases: Array<{ set: string; inputs: Record<string, CaseTensor>; outputs: Record<string, CaseTensor> }>;
}

export interface ModelFolder {
  name: string;
  dir: string;
  modelPath: string;
  cases: ModelCases;
  manifest: Record<string, unknown>;
  /** ZipMap outputs whose oracle is a dense [N, classes] tensor: class keys in column order. */
  zipMapKeys: Record<string, Array<string | number>>;
}

export function listModelFolders(root: string): string[] {
  return readdirSync(root)
    .filter((name) => statSync(path.join(root, name)).isDirectory())
    .sort();
}

export function loadModelFolder(root: string, name: string): ModelFolder {
  const dir = path.join(root, name);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    oracle?: { zipmap_dense_oracle?: { keys?: Record<string, Array<string | number>> } };
  } & Record<string, unknown>;
  return {
    name,
    dir,
    modelPath: path.join(dir, 'model.onnx'),
    cases: JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8')) as ModelCases,
    manifest,
    zipMapKeys: manifest.oracle?.zipmap_dense_oracle?.keys ?? {},
  };
}

/** Flat row-major data → nested arrays, the way an HTTP client would send a tensor. */
export function nest(data: unknown[], dims: number[]): unknown {
  if (dims.length === 0) return data[0];
  let offset = 0;
  const build = (depth: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < dims[depth]; i++)
      out.push(depth === dims.length - 1 ? data[offset++] : build(depth + 1));
    return out;
  };
  return build(0);
}

/** The shape of a nested array, following first elements. */
export function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let node = value;
  while (Array.isArray(node)) {
    shape.push(node.length);
    node = node[0];
  }
  return shape;
}

export function flatten(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const item of value) flatten(item, out);
  else out.push(value);
  return out;
}

/** Indices where |got - expected| > atol + rtol * |expected| (the README's rule), at most `limit` of them. */
export function mismatches(
  got: unknown[],
  expected: unknown[],
  tolerance: { rtol: number; atol: number },
  limit = 5,
): string[] {
  const problems: string[] = [];
  if (got.length !== expected.length) return [`length ${got.length} != ${expected.length}`];
  for (let i = 0; i < expected.length && problems.length < limit; i++) {
    const e = expected[i];
    const g = got[i];
    if (typeof e === 'number') {
      if (typeof g !== 'number' || !(Math.abs(g - e) <= tolerance.atol + tolerance.rtol * Math.abs(e))) {
        problems.push(`[${i}] got ${String(g)}, expected ${e}`);
      }
    } else if (g !== e) {
      problems.push(`[${i}] got ${JSON.stringify(g)}, expected ${JSON.stringify(e)}`);
    }
  }
  return problems;
}
