import { AppError } from '../common/app-error';
import type { Model } from '../models/model.entity';

/**
 * Pure checks on a prediction's `input` that run before the JSON Schema: size, characters Postgres cannot
 * store, and the one-input shortcut (a bare nested array). Kept free of Nest so they unit-test directly.
 */

/** How deeply an input may nest: a tensor of rank 8 inside a named input is 9 levels. */
export const MAX_INPUT_DEPTH = 32;

export interface InputScan {
  /** Leaves (numbers, strings, booleans, nulls) seen; stops counting once over `maxElements`. */
  elements: number;
  overLimit: boolean;
  /** A string or object key holds U+0000, which a jsonb column refuses. */
  hasNul: boolean;
  /** Arrays and objects nest deeper than MAX_INPUT_DEPTH (the walk stops there). */
  tooDeep: boolean;
}

/** One iterative walk (no recursion, so a deeply nested body cannot overflow the stack). */
export function scanInput(input: unknown, maxElements: number): InputScan {
  let elements = 0;
  let hasNul = false;
  // Nodes and their depths side by side (the input itself is at depth 0; its children at 1).
  const stack: unknown[] = [input];
  const depths: number[] = [0];
  while (stack.length > 0) {
    const node = stack.pop();
    const depth = depths.pop()!;
    if (node !== null && typeof node === 'object') {
      if (depth >= MAX_INPUT_DEPTH) return { elements, overLimit: false, hasNul, tooDeep: true };
      if (Array.isArray(node)) {
        for (let i = node.length - 1; i >= 0; i--) {
          stack.push(node[i]);
          depths.push(depth + 1);
        }
      } else {
        for (const [key, value] of Object.entries(node)) {
          if (key.includes('\u0000')) hasNul = true;
          stack.push(value);
          depths.push(depth + 1);
        }
      }
    } else {
      elements++;
      if (typeof node === 'string' && node.includes('\u0000')) hasNul = true;
      if (elements > maxElements) return { elements, overLimit: true, hasNul, tooDeep: false };
    }
  }
  return { elements, overLimit: false, hasNul, tooDeep: false };
}

/** A copy with U+0000 replaced by U+FFFD, only to record a refused input that Postgres could not store as is. */
export function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD');
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.replaceAll('\u0000', '\uFFFD'), withoutNul(v)]),
    );
  }
  return value;
}

/** The model's input names, from the graph metadata written at upload (else the schema's required list). */
export function modelInputNames(model: Pick<Model, 'modelMetadata' | 'inputSchema'>): string[] | null {
  const graphInputs = model.modelMetadata?.graphInputs;
  if (Array.isArray(graphInputs)) {
    const names = graphInputs.map((i) => (i as { name?: unknown } | null)?.name);
    if (names.length > 0 && names.every((n): n is string => typeof n === 'string')) return names;
  }
  const required = model.inputSchema?.required;
  if (Array.isArray(required) && required.length > 0 && required.every((n) => typeof n === 'string')) {
    return required;
  }
  return null;
}

/**
 * `{name: array}` as the input schema describes it. A bare nested array is the one-input shortcut; for a model
 * with several inputs it is refused here with the names to use.
 */
export function toNamedInput(input: unknown, inputNames: string[] | null): unknown {
  if (!Array.isArray(input) || !inputNames) return input;
  if (inputNames.length === 1) return { [inputNames[0]]: input };
  throw new AppError(
    'INVALID_INPUT',
    `this model has ${inputNames.length} inputs (${inputNames.map((n) => `"${n}"`).join(', ')}): ` +
      'send an object keyed by input name',
  );
}

/** RFC 7240: true when the `Prefer` header carries the `respond-async` preference. */
export function prefersRespondAsync(prefer: string | string[] | undefined): boolean {
  const values = Array.isArray(prefer) ? prefer : prefer ? [prefer] : [];
  return values.some((value) =>
    value
      .split(',')
      .some((preference) => preference.split(/[;=]/)[0].trim().toLowerCase() === 'respond-async'),
  );
}
