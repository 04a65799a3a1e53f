import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  PayloadTooLargeException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Request } from 'express';
import { catchError, Observable, throwError } from 'rxjs';
import { AppError } from '../common/app-error';
import type { AppConfig } from '../config/app.config';

/**
 * Sits outside multer's FileInterceptor on the upload route: refuses anything but multipart/form-data with 415
 * before multer runs, and says what the size limit is when multer refuses a file as too large.
 */
@Injectable()
export class ModelUploadInterceptor implements NestInterceptor {
  constructor(private readonly config: ConfigService<AppConfig, true>) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    if (!req.is('multipart/form-data')) {
      throw new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Upload a model as multipart/form-data (got ${req.headers['content-type'] ?? 'no Content-Type'})`,
      );
    }
    const limit = this.config.get('limits', { infer: true }).uploadBytes;
    return next
      .handle()
      .pipe(
        catchError((err: unknown) =>
          throwError(() =>
            err instanceof PayloadTooLargeException
              ? new AppError(
                  'PAYLOAD_TOO_LARGE',
                  `The model file is larger than the upload limit of ${limit} bytes`,
                )
              : err,
          ),
        ),
      );
  }
}
