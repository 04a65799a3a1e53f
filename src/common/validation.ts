import { ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
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

/**
 * A body field that may be left out but, when sent, must be valid. `@IsOptional()` also skips an explicit `null`
 * unchecked, which a non-nullable column then refuses with a 500; with this, `null` is validated like any other
 * value (and so refused, unless the field's own rules allow it).
 */
export const IsOmittable = (): PropertyDecorator => ValidateIf((_object, value) => value !== undefined);
