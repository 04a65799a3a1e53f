import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import { ApiKeysRepository } from './api-keys.repository';

export const API_KEY_PREFIX = 'mp_';

@Injectable()
export class ApiKeysService {
  constructor(private readonly keys: ApiKeysRepository) {}

  /** Resolves a presented key to its user; any problem with the key is the same 401. */
  async authenticate(rawKey: string): Promise<AuthContext> {
    const keyHash = createHash('sha256').update(rawKey).digest('hex');
    const apiKey = await this.keys.findOne({ keyHash }, { populate: ['user'] });
    if (!apiKey || !apiKey.isActive || (apiKey.expiresAt && apiKey.expiresAt <= new Date())) {
      throw new AppError('INVALID_API_KEY', 'Invalid, revoked or expired API key');
    }
    if (!apiKey.user.isActive) throw new AppError('USER_INACTIVE', 'This account is deactivated');
    return { user: apiKey.user, apiKey };
  }
}
