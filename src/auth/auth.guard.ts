import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { IncomingMessage } from 'node:http';
import { API_KEY_PREFIX, ApiKeysService } from '../api-keys/api-keys.service';
import { AppError } from '../common/app-error';
import type { AuthContext, AuthenticatedRequest } from '../common/auth-context';
import { ADMIN_ONLY, IS_PUBLIC, LOGIN_TOKEN_ONLY } from '../common/decorators';
import { UsersService } from '../users/users.service';
import { TokenService } from './token.service';

/** The credential a request presents, told apart by header and prefix. */
export function extractCredential(req: Pick<IncomingMessage, 'headers'>): {
  kind: 'apiKey' | 'jwt';
  value: string;
} | null {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return { kind: 'apiKey', value: header.trim() };
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) {
      const value = match[1];
      return { kind: value.startsWith(API_KEY_PREFIX) ? 'apiKey' : 'jwt', value };
    }
  }
  return null;
}

/**
 * The global default-deny guard: every route needs a login token or an API key unless marked @Public().
 * Both resolve to one AuthContext on the request; headers are never rewritten.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly users: UsersService,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const credential = extractCredential(req);
    if (!credential)
      throw new AppError('UNAUTHENTICATED', 'Authentication required: a Bearer token or X-API-Key');

    const auth =
      credential.kind === 'apiKey'
        ? await this.apiKeys.authenticate(credential.value)
        : await this.authenticateJwt(credential.value);
    req.auth = auth;

    if (auth.apiKey && this.reflector.getAllAndOverride<boolean>(LOGIN_TOKEN_ONLY, targets)) {
      throw new AppError(
        'LOGIN_TOKEN_REQUIRED',
        'This route needs a login token (Bearer JWT), not an API key',
      );
    }
    if (this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) && !auth.user.isAdmin) {
      throw new AppError('ADMIN_ONLY', 'Administrators only');
    }
    return true;
  }

  private authenticateJwt(token: string): Promise<AuthContext> {
    return authenticateAccessToken(this.tokens, this.users, token);
  }
}

/** A login token's user, read fresh (needs a request context: the caller's, or one it opens). */
export async function authenticateAccessToken(
  tokens: TokenService,
  users: UsersService,
  token: string,
): Promise<AuthContext> {
  const { userId } = await tokens.verifyAccess(token);
  const user = await users.findById(userId);
  if (!user) throw new AppError('INVALID_TOKEN', 'Invalid or expired access token');
  if (!user.isActive) throw new AppError('USER_INACTIVE', 'This account is deactivated');
  return { user };
}
