import { AppError } from '../../common/app-error';
import { firstCodePoints, USER_FIELD_LENGTHS } from '../../users/user.entity';
import type { OAuthIdentity } from '../../users/users.service';

/** Fetches a provider resource with the user's access token; the only HTTP the profile step does. */
export type FetchJson = (url: string, accessToken: string) => Promise<{ status: number; body: unknown }>;

const PROFILE_TIMEOUT_MS = 10_000;

export const fetchJson: FetchJson = async (url, accessToken) => {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: {
        Authorization: `Bearer ${accessToken}`,
        Accept: 'application/json',
        'User-Agent': 'modelport',
      },
      redirect: 'error',
      signal: AbortSignal.timeout(PROFILE_TIMEOUT_MS),
    });
  } catch {
    throw new AppError(
      'OAUTH_PROVIDER_ERROR',
      `Could not reach the sign-in provider at ${new URL(url).host}`,
    );
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: res.status, body };
};

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/**
 * What a provider sent, made to fit the account's columns: a long display name is cut (by code point), an
 * avatar URL that is too long or not http(s) is left out, and an id or e-mail too long to store is the provider's
 * error (a 502, never a failed insert).
 */
function fitted(identity: OAuthIdentity, provider: string): OAuthIdentity {
  const {
    email: MAX_EMAIL,
    fullName: MAX_NAME,
    oauthId: MAX_OAUTH_ID,
    avatarUrl: MAX_AVATAR_URL,
  } = USER_FIELD_LENGTHS;
  if (identity.oauthId.length > MAX_OAUTH_ID)
    throw new AppError(
      'OAUTH_PROVIDER_ERROR',
      `${provider} returned an account id longer than ${MAX_OAUTH_ID} characters`,
    );
  if (identity.email !== null && identity.email.length > MAX_EMAIL)
    throw new AppError(
      'OAUTH_PROVIDER_ERROR',
      `${provider} returned an e-mail address longer than ${MAX_EMAIL} characters`,
    );
  const name = identity.fullName === null ? null : firstCodePoints(identity.fullName, MAX_NAME).trim();
  const avatar = identity.avatarUrl;
  return {
    ...identity,
    fullName: name || null,
    avatarUrl:
      avatar !== null && avatar.length <= MAX_AVATAR_URL && /^https?:\/\//i.test(avatar) ? avatar : null,
  };
}

function providerError(provider: string, what: string, status: number): AppError {
  return new AppError('OAUTH_PROVIDER_ERROR', `${provider} answered ${status} when asked for ${what}`);
}

/** Google's OIDC userinfo: `{sub, email, email_verified, name, picture}`. */
export async function loadGoogleIdentity(
  fetch: FetchJson,
  profileUrl: string,
  accessToken: string,
): Promise<OAuthIdentity> {
  const { status, body } = await fetch(profileUrl, accessToken);
  if (status < 200 || status >= 300) throw providerError('Google', 'the user profile', status);
  const profile = record(body);
  const sub = text(profile.sub);
  if (!sub) throw new AppError('OAUTH_PROVIDER_ERROR', 'Google returned a profile without a subject id');
  return fitted(
    {
      provider: 'google',
      oauthId: sub,
      email: text(profile.email),
      // Older Google endpoints send the flag as a string.
      emailVerified: profile.email_verified === true || profile.email_verified === 'true',
      fullName: text(profile.name),
      avatarUrl: text(profile.picture),
    },
    'Google',
  );
}

/**
 * GitHub's `/user` (`{id, login, name, avatar_url, email}`) plus the e-mail list (`[{email, primary, verified}]`):
 * the e-mail used is the primary one, and only if GitHub says it is verified.
 */
export async function loadGitHubIdentity(
  fetch: FetchJson,
  profileUrl: string,
  emailsUrl: string | undefined,
  accessToken: string,
): Promise<OAuthIdentity> {
  const { status, body } = await fetch(profileUrl, accessToken);
  if (status < 200 || status >= 300) throw providerError('GitHub', 'the user profile', status);
  const profile = record(body);
  const id = typeof profile.id === 'number' || typeof profile.id === 'string' ? String(profile.id) : null;
  if (!id) throw new AppError('OAUTH_PROVIDER_ERROR', 'GitHub returned a profile without an id');

  let email: string | null = null;
  let emailVerified = false;
  if (emailsUrl) {
    const emails = await fetch(emailsUrl, accessToken);
    // 403/404 mean the user:email scope was not granted: no verified address then.
    if (emails.status >= 500) throw providerError('GitHub', 'the e-mail addresses', emails.status);
    if (emails.status >= 200 && emails.status < 300 && Array.isArray(emails.body)) {
      const primary = emails.body.map(record).find((e) => e.primary === true && text(e.email));
      if (primary) {
        email = text(primary.email);
        emailVerified = primary.verified === true;
      }
    }
  }
  if (!email) email = text(profile.email);
  return fitted(
    {
      provider: 'github',
      oauthId: id,
      email,
      emailVerified,
      fullName: text(profile.name) ?? text(profile.login),
      avatarUrl: text(profile.avatar_url),
    },
    'GitHub',
  );
}
