import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from './app-error';

function describe(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {});
    return [
      ...own.map((m) =>
        m.startsWith(error.property) ? `${parent ? parent + '.' : ''}${m}` : `${path}: ${m}`,
      ),
      ...describe(error.children ?? [], path),
    ];
  });
}

/** Strict validation, once, for every route: unknown fields are refused, types transformed. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) =>
      new AppError('VALIDATION_FAILED', describe(errors).join('; ') || 'Invalid request'),
  });
}
