import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { AppError } from './app-error';

/** A client's `X-Request-Id` is echoed only when it looks like an id. */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Honours a well-formed `X-Request-Id`, otherwise makes one; echoes it on the response. */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
  (req as Request & { id: string }).id = id;
  res.setHeader('X-Request-Id', id);
  next();
}

/**
 * Sits right after the body parsers: turns their errors into AppErrors before Nest maps a SyntaxError to a
 * generic 400, so clients get MALFORMED_JSON / PAYLOAD_TOO_LARGE with a clear message.
 */
export function bodyParserErrorMapper(err: unknown, _req: Request, _res: Response, next: NextFunction): void {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') {
    next(new AppError('MALFORMED_JSON', `Malformed JSON in request body: ${(err as Error).message}`));
  } else if (type === 'entity.too.large') {
    const limit = (err as { limit?: number }).limit;
    next(new AppError('PAYLOAD_TOO_LARGE', `Request body is larger than the limit of ${limit ?? '?'} bytes`));
  } else {
    next(err);
  }
}
