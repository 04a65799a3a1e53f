import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import {
  ConnectionException,
  DriverException,
  ForeignKeyConstraintViolationException,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import type { Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { AppError, ErrorCode } from './app-error';
import type { ErrorResponseDto } from './error-response.dto';

/** Codes for errors that come from Nest or Express rather than from our services. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'VALIDATION_FAILED';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 422:
      return 'INFERENCE_FAILED';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'DEPENDENCY_UNAVAILABLE';
    case 504:
      return 'INFERENCE_TIMEOUT';
    default:
      return status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED';
  }
}

interface Mapped {
  status: number;
  code: ErrorCode;
  message: string;
  headers?: Record<string, string>;
}

interface HttpishError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  code?: unknown;
  message?: unknown;
}

/** Turns anything thrown into the shared error shape. Only unexpected errors are logged as errors. */
export function mapError(exception: unknown): Mapped {
  if (exception instanceof AppError) {
    return {
      status: exception.status,
      code: exception.code,
      message: exception.message,
      headers: exception.headers,
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    let message = exception.message;
    let code = codeForStatus(status);
    if (typeof body === 'object' && body !== null) {
      const m = (body as { message?: unknown }).message;
      if (Array.isArray(m)) message = m.map(String).join('; ');
      else if (typeof m === 'string') message = m;
      const c = (body as { code?: unknown }).code;
      if (typeof c === 'string') code = c as ErrorCode;
    }
    if (status === 404 && /^Cannot (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)/.test(message))
      code = 'ROUTE_NOT_FOUND';
    return { status, code, message };
  }
  if (exception instanceof UniqueConstraintViolationException) {
    return {
      status: 409,
      code: 'CONFLICT',
      message: 'A resource with the same unique fields already exists',
    };
  }
  if (exception instanceof ForeignKeyConstraintViolationException) {
    return { status: 404, code: 'NOT_FOUND', message: 'A referenced resource does not exist' };
  }
  if (exception instanceof ConnectionException) {
    return { status: 503, code: 'DEPENDENCY_UNAVAILABLE', message: 'The database is unavailable' };
  }
  const e = (exception ?? {}) as HttpishError;
  // body-parser (malformed JSON, too large, bad charset) and raw-body errors carry a status and a type.
  if (typeof e.type === 'string' && typeof e.status === 'number' && e.status < 500) {
    if (e.type === 'entity.parse.failed') {
      return {
        status: 400,
        code: 'MALFORMED_JSON',
        message: `Malformed JSON in request body: ${String(e.message)}`,
      };
    }
    if (e.type === 'entity.too.large') {
      return {
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        message: 'Request body is larger than the configured limit',
      };
    }
    return { status: e.status, code: codeForStatus(e.status), message: String(e.message) };
  }
  // multer
  if (e.code === 'LIMIT_FILE_SIZE') {
    return {
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      message: 'Uploaded file is larger than the configured limit',
    };
  }
  if (typeof e.code === 'string' && e.code.startsWith('LIMIT_')) {
    return { status: 400, code: 'VALIDATION_FAILED', message: String(e.message) };
  }
  // ioredis gives up on a command when Redis is unreachable: a dependency outage, not a bug.
  if (
    exception instanceof Error &&
    (exception.name === 'MaxRetriesPerRequestError' ||
      /^(Connection is closed|Stream isn't writeable)/.test(exception.message))
  ) {
    return {
      status: 503,
      code: 'DEPENDENCY_UNAVAILABLE',
      message: 'A dependency (Redis) is unavailable; try again shortly',
    };
  }
  if (exception instanceof DriverException && /ECONNREFUSED|terminat|timeout/i.test(exception.message)) {
    return { status: 503, code: 'DEPENDENCY_UNAVAILABLE', message: 'The database is unavailable' };
  }
  return { status: 500, code: 'INTERNAL', message: 'Internal server error' };
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request & { id?: string }>();
    const mapped = mapError(exception);
    if (
      mapped.status >= 500 &&
      mapped.code !== 'DEPENDENCY_UNAVAILABLE' &&
      mapped.code !== 'INFERENCE_TIMEOUT'
    ) {
      this.logger.error({ err: exception, requestId: req.id }, 'Unhandled error');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    const body: ErrorResponseDto = {
      statusCode: mapped.status,
      error: STATUS_CODES[mapped.status] ?? 'Error',
      message: mapped.message,
      code: mapped.code,
      requestId: req.id ?? '',
    };
    for (const [name, value] of Object.entries(mapped.headers ?? {})) res.setHeader(name, value);
    res.status(mapped.status).json(body);
  }
}
