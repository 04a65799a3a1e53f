import type { Request } from 'express';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_PREFIX } from '../../app.setup';
import type { OAuthProvider } from '../../users/user.entity';

/** How long a sign-in may take between the redirect to the provider and the callback. */
export const OAUTH_STATE_TTL_SECONDS = 600;

export const OAUTH_STATE_INVALID_MESSAGE =
  'The sign-in state is missing, expired or does not match this browser; start the sign-in again';

export interface StateFailure {
  message: string;
  code: 'OAUTH_STATE_INVALID';
}

type StoreCallback = (err: Error | null, state?: string) => void;
type VerifyCallback = (err: Error | null, ok: boolean, state?: StateFailure | string) => void;

export function stateCookieName(provider: OAuthProvider): string {
  return `mp_oauth_state_${provider}`;
}

/** The cookie travels only to this provider's routes (start and callback). */
export function stateCookiePath(provider: OAuthProvider): string {
  return `/${API_PREFIX}/auth/${provider}`;
}

function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * A stateless CSRF store for passport-oauth2 (no sessions): the `state` sent to the provider is
 * `<provider>.<nonce>.<expiry>.<hmac>`, and the nonce is also put in an httpOnly SameSite=Lax cookie scoped to
 * this provider's routes. The callback is accepted only with a state signed by us, not expired, for this
 * provider, and carrying the nonce of the browser's cookie — so a callback URL forged by someone else fails.
 */
export class OAuthStateStore {
  private readonly key: Buffer;

  constructor(
    private readonly provider: OAuthProvider,
    secret: string,
    private readonly secureCookie: boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHmac('sha256', secret).update('modelport:oauth-state').digest();
  }

  /** passport-oauth2 calls this (arity 3) when redirecting to the provider. */
  store(req: Request, _meta: unknown, callback: StoreCallback): void {
    const nonce = randomBytes(24).toString('base64url');
    const expires = Math.floor(this.now() / 1000) + OAUTH_STATE_TTL_SECONDS;
    const payload = `${this.provider}.${nonce}.${expires}`;
    req.res?.cookie(stateCookieName(this.provider), nonce, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secureCookie,
      path: stateCookiePath(this.provider),
      maxAge: OAUTH_STATE_TTL_SECONDS * 1000,
    });
    callback(null, `${payload}.${this.sign(payload)}`);
  }

  /** passport-oauth2 calls this (arity 3) on the callback, before trading the code for a token. */
  verify(req: Request, state: unknown, callback: VerifyCallback): void {
    callback(null, this.check(req, state), {
      message: OAUTH_STATE_INVALID_MESSAGE,
      code: 'OAUTH_STATE_INVALID',
    });
  }

  private check(req: Request, state: unknown): boolean {
    if (typeof state !== 'string' || state.length > 512) return false;
    const parts = state.split('.');
    if (parts.length !== 4) return false;
    const [provider, nonce, expires, signature] = parts as [string, string, string, string];
    if (!safeEqual(signature, this.sign(`${provider}.${nonce}.${expires}`))) return false;
    if (provider !== this.provider) return false;
    if (!/^\d+$/.test(expires) || Number(expires) * 1000 < this.now()) return false;
    const cookie = readCookie(req, stateCookieName(this.provider));
    return cookie !== undefined && safeEqual(cookie, nonce);
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
