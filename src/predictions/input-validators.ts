import { AppError } from '../common/app-error';
import { compileInputValidator } from '../inference/json-schema';
import type { Model } from '../models/model.entity';

/** Returns null when the input is valid, else a message naming the failing place. */
export type InputValidator = (input: unknown) => string | null;

/** How many models' validators stay compiled; the least recently used one goes first. */
export const INPUT_VALIDATOR_CACHE_SIZE = 500;

/**
 * The Ajv validator of each model's `inputSchema`, compiled once per model and schema state: the key is the
 * model id plus `updatedAt`, so a PATCH that changes the schema (and so `updatedAt`) gets a fresh validator and
 * the stale one ages out of the bounded LRU. Registered with `useFactory` (the size is a plain argument).
 */
export class InputValidators {
  private readonly cache = new Map<string, InputValidator>();

  constructor(private readonly maxEntries = INPUT_VALIDATOR_CACHE_SIZE) {}

  /** Null when the model has no input schema (the engine still checks names, shapes and types). */
  forModel(model: Pick<Model, 'id' | 'updatedAt' | 'inputSchema'>): InputValidator | null {
    if (!model.inputSchema) return null;
    const key = `${model.id}@${model.updatedAt.getTime()}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key); // refresh its LRU position
      this.cache.set(key, cached);
      return cached;
    }
    let validator: InputValidator;
    try {
      validator = compileInputValidator(model.inputSchema);
    } catch (err) {
      // Stored before a rule it now breaks (say, a lookahead pattern, which the linear-time engine refuses): the
      // model cannot serve until its owner replaces the schema; the caller's input is not at fault.
      if (!(err instanceof AppError) || err.code !== 'INVALID_SCHEMA') throw err;
      throw new AppError(
        'MODEL_LOAD_FAILED',
        `The model's input schema cannot be used (${err.message}); its owner can replace it with PATCH /models/${model.id}`,
      );
    }
    this.cache.set(key, validator);
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    return validator;
  }

  get size(): number {
    return this.cache.size;
  }
}
