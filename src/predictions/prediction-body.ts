import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { validateSync } from 'class-validator';
import type { Request } from 'express';
import { AppError } from '../common/app-error';
import { CreatePredictionDto } from './dto/prediction.dto';

/**
 * The body of `POST /models/{id}/predictions`, validated as `CreatePredictionDto` with the same strictness as the
 * global ValidationPipe (`input` required, unknown top-level fields refused) but without class-transformer: the
 * pipe deep-copies every value, which for a million-element `input` costs around half a second. Here the DTO is
 * filled shallowly, so `input` stays the very array the JSON parser built. (A custom parameter decorator is
 * skipped by the global pipe.)
 */
export function parseCreatePredictionBody(body: unknown): CreatePredictionDto {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('VALIDATION_FAILED', 'The body must be a JSON object: {"input": ...}');
  }
  const dto = new CreatePredictionDto();
  // The common case, `{"input": <something>}`, passes every rule below: skip class-validator's metadata walk.
  const keys = Object.keys(body);
  const input = (body as { input?: unknown }).input;
  if (keys.length === 1 && keys[0] === 'input' && input !== null && input !== undefined) {
    dto.input = input;
    return dto;
  }
  const messages: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    // class-validator's whitelist does not see an own "__proto__" key (JSON.parse makes one); never assign it.
    if (key === '__proto__') messages.push('property __proto__ should not exist');
    else Object.defineProperty(dto, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const errors = validateSync(dto, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  messages.push(...errors.flatMap((e) => Object.values(e.constraints ?? {})));
  if (messages.length > 0) {
    throw new AppError('VALIDATION_FAILED', messages.join('; ') || 'Invalid request body');
  }
  return dto;
}

/** `@PredictionBody()`: the parsed and validated `CreatePredictionDto` (document the route with `@ApiBody`). */
export const PredictionBody = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): CreatePredictionDto =>
    parseCreatePredictionBody(ctx.switchToHttp().getRequest<Request>().body),
);
