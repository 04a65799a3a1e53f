import { AppError } from '../../common/app-error';
import { FetchJson, loadGitHubIdentity, loadGoogleIdentity } from './oauth-profiles';

/** Resolves on a later tick, like the real (async) collaborator. */
const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);

/** A fake provider: URL -> answer, recording the tokens it was called with. */
function fakeFetch(answers: Record<string, { status: number; body: unknown }>) {
  const calls: { url: string; token: string }[] = [];
  const fetch: FetchJson = (url, token) =>
    later(() => {
      calls.push({ url, token });
      return answers[url] ?? { status: 404, body: null };
    });
  return { fetch, calls };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('loadGoogleIdentity', () => {
  it('maps the OIDC userinfo', async () => {
    const { fetch, calls } = fakeFetch({
      '/userinfo': {
        status: 200,
        body: {
          sub: '123',
          email: 'ada@example.com',
          email_verified: true,
          name: 'Ada',
          picture: 'https://p/a.png',
        },
      },
    });
    expect(await loadGoogleIdentity(fetch, '/userinfo', 'tok')).toEqual({
      provider: 'google',
      oauthId: '123',
      email: 'ada@example.com',
      emailVerified: true,
      fullName: 'Ada',
      avatarUrl: 'https://p/a.png',
    });
    expect(calls).toEqual([{ url: '/userinfo', token: 'tok' }]);
  });

  it('treats anything but true / "true" as unverified', async () => {
    for (const [flag, expected] of [
      [true, true],
      ['true', true],
      [false, false],
      ['false', false],
      [undefined, false],
      [1, false],
    ] as const) {
      const { fetch } = fakeFetch({
        '/u': { status: 200, body: { sub: '1', email: 'a@b.co', email_verified: flag } },
      });
      expect((await loadGoogleIdentity(fetch, '/u', 't')).emailVerified).toBe(expected);
    }
  });

  it('fails with OAUTH_PROVIDER_ERROR on an error status or a profile without sub', async () => {
    expect(
      await codeOf(loadGoogleIdentity(fakeFetch({ '/u': { status: 500, body: {} } }).fetch, '/u', 't')),
    ).toBe('OAUTH_PROVIDER_ERROR');
    expect(
      await codeOf(
        loadGoogleIdentity(fakeFetch({ '/u': { status: 200, body: { email: 'a@b.co' } } }).fetch, '/u', 't'),
      ),
    ).toBe('OAUTH_PROVIDER_ERROR');
    expect(
      await codeOf(
        loadGoogleIdentity(fakeFetch({ '/u': { status: 200, body: 'not json' } }).fetch, '/u', 't'),
      ),
    ).toBe('OAUTH_PROVIDER_ERROR');
  });
});

describe('loadGitHubIdentity', () => {
  const user = {
    id: 42,
    login: 'octocat',
    name: null,
    avatar_url: 'https://a/42',
    email: 'public@example.com',
  };

  it('uses the primary verified address of the e-mail list, and the login when there is no name', async () => {
    const { fetch } = fakeFetch({
      '/user': { status: 200, body: user },
      '/emails': {
        status: 200,
        body: [
          { email: 'other@example.com', primary: false, verified: true },
          { email: 'main@example.com', primary: true, verified: true },
        ],
      },
    });
    expect(await loadGitHubIdentity(fetch, '/user', '/emails', 't')).toEqual({
      provider: 'github',
      oauthId: '42',
      email: 'main@example.com',
      emailVerified: true,
      fullName: 'octocat',
      avatarUrl: 'https://a/42',
    });
  });

  it('reports the primary address as unverified when GitHub says so (a verified secondary does not count)', async () => {
    const { fetch } = fakeFetch({
      '/user': { status: 200, body: user },
      '/emails': {
        status: 200,
        body: [
          { email: 'main@example.com', primary: true, verified: false },
          { email: 'other@example.com', primary: false, verified: true },
        ],
      },
    });
    expect(await loadGitHubIdentity(fetch, '/user', '/emails', 't')).toEqual(
      expect.objectContaining({ email: 'main@example.com', emailVerified: false }),
    );
  });

  it('falls back to the unverified profile e-mail when the list is not available (scope not granted)', async () => {
    const { fetch } = fakeFetch({
      '/user': { status: 200, body: user },
      '/emails': { status: 404, body: { message: 'Not Found' } },
    });
    expect(await loadGitHubIdentity(fetch, '/user', '/emails', 't')).toEqual(
      expect.objectContaining({ email: 'public@example.com', emailVerified: false }),
    );
  });

  it('fails with OAUTH_PROVIDER_ERROR when GitHub errors', async () => {
    expect(
      await codeOf(
        loadGitHubIdentity(fakeFetch({ '/user': { status: 401, body: {} } }).fetch, '/user', '/emails', 't'),
      ),
    ).toBe('OAUTH_PROVIDER_ERROR');
    const { fetch } = fakeFetch({
      '/user': { status: 200, body: user },
      '/emails': { status: 502, body: null },
    });
    expect(await codeOf(loadGitHubIdentity(fetch, '/user', '/emails', 't'))).toBe('OAUTH_PROVIDER_ERROR');
  });
});

describe('profiles that do not fit the account columns', () => {
  const google = (profile: Record<string, unknown>) =>
    loadGoogleIdentity(
      fakeFetch({ '/userinfo': { status: 200, body: { sub: '1', email: 'a@example.com', ...profile } } })
        .fetch,
      '/userinfo',
      't',
    );

  it('cuts a display name to 200 characters, by code point', async () => {
    const name = `${'é'.repeat(150)}${'😀'.repeat(100)}`;
    const { fullName } = await google({ name });
    expect(Array.from(fullName ?? '')).toHaveLength(200);
    expect(fullName).toBe(`${'é'.repeat(150)}${'😀'.repeat(50)}`);
  });

  it('leaves out an avatar URL over 2048 characters or not http(s)', async () => {
    expect((await google({ picture: `https://p/${'a'.repeat(2040)}` })).avatarUrl).toBeNull();
    expect((await google({ picture: 'javascript:alert(1)' })).avatarUrl).toBeNull();
    const fits = `https://p/${'a'.repeat(2038)}`;
    expect((await google({ picture: fits })).avatarUrl).toBe(fits);
  });

  it('refuses an id or an e-mail too long to store as the provider error', async () => {
    expect(await codeOf(google({ sub: 'x'.repeat(256) }))).toBe('OAUTH_PROVIDER_ERROR');
    expect(await codeOf(google({ email: `${'a'.repeat(310)}@example.com` }))).toBe('OAUTH_PROVIDER_ERROR');
  });
});
