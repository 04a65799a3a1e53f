import { Injectable } from '@nestjs/common';
import * as argon2 from 'argon2';

/** argon2id with OWASP's minimum parameters (m=19 MiB, t=2, p=1). */
@Injectable()
export class PasswordHasher {
  private static readonly OPTIONS: argon2.HashOptions & { raw?: false } = {
    type: argon2.argon2id,
    memoryCost: 19_456,
    timeCost: 2,
    parallelism: 1,
  };
  // Verified against when the e-mail is unknown, so both failures take the same time.
  private readonly dummy = argon2.hash('modelport-timing-equaliser', PasswordHasher.OPTIONS);

  hash(password: string): Promise<string> {
    return argon2.hash(password, PasswordHasher.OPTIONS);
  }

  async verify(hash: string | null | undefined, password: string): Promise<boolean> {
    try {
      if (!hash) {
        await argon2.verify(await this.dummy, password);
        return false;
      }
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }
}
