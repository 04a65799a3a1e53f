import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { generateApiKey } from './api-key-format';

/** Makes new keys from the operating system's CSPRNG (a fake in unit tests). */
@Injectable()
export class ApiKeyGenerator {
  generate(): string {
    return generateApiKey(randomBytes);
  }
}

/** The time, injectable so expiry and last-used logic can be tested without waiting. */
@Injectable()
export class ApiKeyClock {
  now(): Date {
    return new Date();
  }
}
