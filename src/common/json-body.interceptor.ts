import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { AppError } from './app-error';
import { MULTIPART_BODY } from './decorators';

/**
 * Every route takes its body as `application/json`, except those marked `@MultipartBody()` (model uploads, which
 * check their own type). A body of any other type is refused with 415 before validation, instead of being read
 * as an empty or form-decoded object and answered with a misleading 400 (or, for PATCH, silently ignored).
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const req = context.switchToHttp().getRequest<Request>();
      // `is` answers null without a body, false for a body of another type (an empty one included).
      const empty = req.headers['content-length'] === '0' && req.headers['transfer-encoding'] === undefined;
      if (!empty && req.is('application/json') === false && !this.takesMultipart(context)) {
        throw new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Send the body as application/json (got ${req.headers['content-type'] ?? 'no Content-Type'})`,
        );
      }
    }
    return next.handle();
  }

  private takesMultipart(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean>(MULTIPART_BODY, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }
}
