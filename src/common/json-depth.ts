import type { NextFunction, Request, Response } from 'express';
import { AppError } from './app-error';

/**
 * How deeply a JSON body may nest arrays and objects. Nothing this API takes needs more (a tensor of rank 8
 * inside a named input is 9 levels; JSON Schemas and metadata rarely pass 20), while a body nested thousands deep
 * overflows recursive code downstream — class-transformer and ValidationPipe, `JSON.stringify`, Postgres' jsonb —
 * and would answer 500 or store a row that can no longer be read.
 */
export const MAX_JSON_DEPTH = 64;

/** The depth of `value` (a scalar is 0, `[]` and `{}` are 1), counted without recursion; stops past `limit`. */
export function jsonDepth(value: unknown, limit = Infinity): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > deepest) {
      deepest = depth;
      if (deepest > limit) return deepest;
    }
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (typeof child === 'object' && child !== null) {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return deepest;
}

/** The VALIDATION_FAILED of a value (`what`) nested deeper than MAX_JSON_DEPTH. */
export function tooDeepError(what: string): AppError {
  return new AppError(
    'VALIDATION_FAILED',
    `${what} nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
  );
}

/** VALIDATION_FAILED when `value` nests deeper than MAX_JSON_DEPTH. */
export function assertJsonDepth(what: string, value: unknown): void {
  if (jsonDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw tooDeepError(what);
}

/** Sits after the JSON body parser: a parsed body nested deeper than MAX_JSON_DEPTH is refused with 400. */
export function jsonDepthGuard(req: Request, _res: Response, next: NextFunction): void {
  try {
    assertJsonDepth('The JSON body', req.body);
    next();
  } catch (err) {
    next(err);
  }
}
