import { OAuthMock, startOAuthMock } from '../support/oauth-mock';
import { createTestApp, expectErrorShape, registerUser, TestApp, uniqueEmail } from '../support/test-app';

const REDIRECT_URL = 'http://app.example.test/signed-in';
const GOOGLE = { id: 'google-client-id', secret: 'google-client-secret' };
const GITHUB = { id: 'github-client-id', secret: 'github-client-secret' };

type Provider = 'google' | 'github';

interface Walk {
  /** our first redirect, to the provider */
  authorizeUrl: URL;
  stateCookie: string;
  /** the provider's redirect back to our callback */
  callbackUrl: URL;
}

function setCookies(res: Response): string[] {
  return res.headers.getSetCookie();
}

/** Walks like a browser: our start route → the provider's /authorize → (returns before calling our callback). */
async function startSignIn(t: TestApp, provider: Provider): Promise<Walk> {
  const start = await fetch(`${t.baseUrl}/api/v1/auth/${provider}`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const authorizeUrl = new URL(start.headers.get('location') ?? '');
  const cookie = setCookies(start).find((c) => c.startsWith(`mp_oauth_state_${provider}=`));
  expect(cookie).toBeDefined();
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Lax/i);
  expect(cookie).toContain(`Path=/api/v1/auth/${provider}`);
  const stateCookie = (cookie ?? '').split(';')[0] ?? '';

  const atProvider = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(atProvider.status).toBe(302);
  const callbackUrl = new URL(atProvider.headers.get('location') ?? '');
  return { authorizeUrl, stateCookie, callbackUrl };
}

function callback(url: URL, cookie?: string): Promise<Response> {
  return fetch(url, { redirect: 'manual', headers: cookie ? { Cookie: cookie } : {} });
}

/** The whole flow; returns the tokens from the fragment of our final redirect. */
async function signIn(
  t: TestApp,
  provider: Provider,
): Promise<{ accessToken: string; refreshToken: string; location: string }> {
  const walk = await startSignIn(t, provider);
  const res = await callback(walk.callbackUrl, walk.stateCookie);
  if (res.status !== 302) throw new Error(`callback answered ${res.status}: ${await res.text()}`);
  const location = res.headers.get('location') ?? '';
  const url = new URL(location);
  const fragment = new URLSearchParams(url.hash.slice(1));
  return {
    accessToken: fragment.get('accessToken') ?? '',
    refreshToken: fragment.get('refreshToken') ?? '',
    location,
  };
}

async function me(t: TestApp, accessToken: string) {
  const res = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${accessToken}`);
  expect(res.status).toBe(200);
  return res.body as {
    id: string;
    email: string;
    fullName: string;
    avatarUrl: string | null;
    oauthProvider: string | null;
  };
}

async function userRow(t: TestApp, email: string) {
  const rows = await t.orm.em
    .getConnection()
    .execute(
      'select id, oauth_provider, oauth_id, avatar_url, hashed_password, is_active from users where email = ?',
      [email],
    );
  return rows[0] as
    | {
        id: string;
        oauth_provider: string | null;
        oauth_id: string | null;
        avatar_url: string | null;
        hashed_password: string | null;
      }
    | undefined;
}

jest.setTimeout(60_000);

describe('OAuth sign-in with Google and GitHub against a real local OAuth server (e2e)', () => {
  let mock: OAuthMock;
  let t: TestApp;

  const google = (body: Record<string, unknown>) =>
    mock.configure({
      clients: { [GOOGLE.id]: GOOGLE.secret, [GITHUB.id]: GITHUB.secret },
      google: { status: 200, body },
    });
  const github = (user: Record<string, unknown>, emails: unknown[]) =>
    mock.configure({
      clients: { [GOOGLE.id]: GOOGLE.secret, [GITHUB.id]: GITHUB.secret },
      github: { status: 200, body: user },
      githubEmails: { status: 200, body: emails },
    });

  beforeAll(async () => {
    mock = await startOAuthMock();
    t = await createTestApp({
      listen: true,
      env: {
        THROTTLE_AUTH_PER_MINUTE: '100000',
        OAUTH_REDIRECT_URL: REDIRECT_URL,
        GOOGLE_CLIENT_ID: GOOGLE.id,
        GOOGLE_CLIENT_SECRET: GOOGLE.secret,
        GOOGLE_AUTHORIZATION_URL: `${mock.url}/authorize`,
        GOOGLE_TOKEN_URL: `${mock.url}/token`,
        GOOGLE_PROFILE_URL: `${mock.url}/userinfo`,
        GITHUB_CLIENT_ID: GITHUB.id,
        GITHUB_CLIENT_SECRET: GITHUB.secret,
        GITHUB_AUTHORIZATION_URL: `${mock.url}/authorize`,
        GITHUB_TOKEN_URL: `${mock.url}/token`,
        GITHUB_PROFILE_URL: `${mock.url}/github/user`,
        GITHUB_EMAILS_URL: `${mock.url}/github/user/emails`,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  describe('Google', () => {
    it('sends the browser to the provider with client_id, redirect_uri, scope and a signed state', async () => {
      await google({ sub: 'g-redirect' });
      const walk = await startSignIn(t, 'google');
      expect(`${walk.authorizeUrl.origin}${walk.authorizeUrl.pathname}`).toBe(`${mock.url}/authorize`);
      const q = walk.authorizeUrl.searchParams;
      expect(q.get('client_id')).toBe(GOOGLE.id);
      expect(q.get('response_type')).toBe('code');
      expect(q.get('redirect_uri')).toBe(`${t.baseUrl}/api/v1/auth/google/callback`);
      expect(q.get('scope')).toBe('openid email profile');
      expect(q.get('state')).toMatch(/^google\.[\w-]+\.\d+\.[\w-]+$/);
      // the state carries the cookie's nonce, and differs on every start
      expect(q.get('state')?.split('.')[1]).toBe(walk.stateCookie.split('=')[1]);
      const again = await startSignIn(t, 'google');
      expect(again.authorizeUrl.searchParams.get('state')).not.toBe(q.get('state'));
      // the provider sends back the same state with a code
      expect(walk.callbackUrl.searchParams.get('state')).toBe(q.get('state'));
      expect(walk.callbackUrl.searchParams.get('code')).toEqual(expect.any(String));
    });

    it('creates a new user and hands the tokens over in the URL fragment, never the query', async () => {
      const email = uniqueEmail('g-new');
      await google({
        sub: 'g-new-1',
        email,
        email_verified: true,
        name: 'Grace Hopper',
        picture: 'https://img.example.com/grace.png',
      });
      const walk = await startSignIn(t, 'google');
      const res = await callback(walk.callbackUrl, walk.stateCookie);
      expect(res.status).toBe(302);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const location = new URL(res.headers.get('location') ?? '');
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URL);
      expect(location.search).toBe('');
      const fragment = new URLSearchParams(location.hash.slice(1));
      expect(fragment.get('accessToken')).toEqual(expect.any(String));
      expect(fragment.get('refreshToken')).toEqual(expect.any(String));
      expect(fragment.get('expiresIn')).toBe(String(t.config.jwt.accessTtlSeconds));
      // the state cookie is cleared on the callback
      expect(setCookies(res).join(';')).toMatch(/mp_oauth_state_google=;/);

      const user = await me(t, fragment.get('accessToken') ?? '');
      expect(user).toEqual(
        expect.objectContaining({
          email,
          fullName: 'Grace Hopper',
          avatarUrl: 'https://img.example.com/grace.png',
          oauthProvider: 'google',
        }),
      );
      const row = await userRow(t, email);
      expect(row).toEqual(
        expect.objectContaining({ oauth_provider: 'google', oauth_id: 'g-new-1', hashed_password: null }),
      );

      // the code was traded with our client credentials and the same redirect_uri
      const log = await mock.log();
      expect(log.token).toEqual([
        expect.objectContaining({
          grant_type: 'authorization_code',
          client_id: GOOGLE.id,
          client_secret: GOOGLE.secret,
          redirect_uri: `${t.baseUrl}/api/v1/auth/google/callback`,
        }),
      ]);
      expect(log.resource).toEqual([
        expect.objectContaining({ path: '/userinfo', token: expect.any(String) }),
      ]);

      // the refresh token from the fragment works
      const refreshed = await t
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: fragment.get('refreshToken') });
      expect(refreshed.status).toBe(200);

      // signing in again finds the same account by provider id
      const second = await signIn(t, 'google');
      expect((await me(t, second.accessToken)).id).toBe(user.id);
    });

    it('links an existing password account when Google says the e-mail is verified', async () => {
      const existing = await registerUser(t, 'g-link');
      await google({
        sub: 'g-link-1',
        email: existing.email.toUpperCase(),
        email_verified: true,
        name: 'Someone Else',
        picture: 'https://img.example.com/link.png',
      });
      const { accessToken } = await signIn(t, 'google');
      const user = await me(t, accessToken);
      expect(user.id).toBe(existing.id);
      expect(user.oauthProvider).toBe('google');
      expect(user.avatarUrl).toBe('https://img.example.com/link.png');
      expect(user.fullName).toBe('Test g-link');
      const row = await userRow(t, existing.email);
      expect(row).toEqual(expect.objectContaining({ oauth_provider: 'google', oauth_id: 'g-link-1' }));
      // the password still works
      const login = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: existing.email, password: existing.password });
      expect(login.status).toBe(200);
    });

    it('refuses to link when the e-mail is not verified (409) and leaves the account untouched', async () => {
      const existing = await registerUser(t, 'g-unverified');
      await google({ sub: 'g-unverified-1', email: existing.email, email_verified: false, name: 'Mallory' });
      const walk = await startSignIn(t, 'google');
      const res = await callback(walk.callbackUrl, walk.stateCookie);
      expect(res.status).toBe(409);
      expectErrorShape(await res.json(), 409, 'OAUTH_EMAIL_UNVERIFIED');
      const row = await userRow(t, existing.email);
      expect(row).toEqual(
        expect.objectContaining({ id: existing.id, oauth_provider: null, oauth_id: null, avatar_url: null }),
      );
      const count = await t.orm.em
        .getConnection()
        .execute("select count(*)::int as n from users where oauth_id = 'g-unverified-1'");
      expect(count[0].n).toBe(0);
    });

    it('refuses a new account without a verified e-mail', async () => {
      await google({ sub: 'g-noemail', email: uniqueEmail('g-noverify'), email_verified: 'false' });
      const walk = await startSignIn(t, 'google');
      const res = await callback(walk.callbackUrl, walk.stateCookie);
      expectErrorShape(await res.json(), 409, 'OAUTH_EMAIL_UNVERIFIED');
    });

    it('refuses a deactivated user', async () => {
      const email = uniqueEmail('g-inactive');
      await google({ sub: 'g-inactive-1', email, email_verified: true, name: 'Inactive' });
      await signIn(t, 'google');
      await t.orm.em.getConnection().execute('update users set is_active = false where email = ?', [email]);
      const walk = await startSignIn(t, 'google');
      const res = await callback(walk.callbackUrl, walk.stateCookie);
      expect(res.status).toBe(401);
      expectErrorShape(await res.json(), 401, 'USER_INACTIVE');
    });
  });

  describe('state (CSRF) checks', () => {
    beforeEach(async () => {
      await google({ sub: 'g-state', email: uniqueEmail('g-state'), email_verified: true });
    });

    async function expectStateRefused(res: Response): Promise<void> {
      expect(res.status).toBe(400);
      expectErrorShape(await res.json(), 400, 'OAUTH_STATE_INVALID');
      // refused before the code was ever traded for a token
      expect((await mock.log()).token).toEqual([]);
    }

    it('refuses a callback without the state cookie (a login link forged for another browser)', async () => {
      const walk = await startSignIn(t, 'google');
      await expectStateRefused(await callback(walk.callbackUrl));
    });

    it('refuses a tampered state', async () => {
      const walk = await startSignIn(t, 'google');
      const state = walk.callbackUrl.searchParams.get('state') ?? '';
      const [provider, nonce, expires] = state.split('.');
      walk.callbackUrl.searchParams.set(
        'state',
        `${provider}.${nonce}.${Number(expires) + 3600}.${state.split('.')[3]}`,
      );
      await expectStateRefused(await callback(walk.callbackUrl, walk.stateCookie));
    });

    it('refuses a missing state', async () => {
      const walk = await startSignIn(t, 'google');
      walk.callbackUrl.searchParams.delete('state');
      await expectStateRefused(await callback(walk.callbackUrl, walk.stateCookie));
    });

    it("refuses a valid state with another browser's cookie", async () => {
      const victim = await startSignIn(t, 'google');
      const attacker = await startSignIn(t, 'google');
      await expectStateRefused(await callback(victim.callbackUrl, attacker.stateCookie));
    });

    it("refuses a Google state on GitHub's callback", async () => {
      const walk = await startSignIn(t, 'google');
      const url = new URL(walk.callbackUrl);
      url.pathname = '/api/v1/auth/github/callback';
      await expectStateRefused(await callback(url, walk.stateCookie.replace('google', 'github')));
    });

    it('refuses a callback with neither code nor error', async () => {
      const res = await callback(new URL(`${t.baseUrl}/api/v1/auth/google/callback?state=x`));
      expect(res.status).toBe(400);
      expectErrorShape(await res.json(), 400, 'OAUTH_STATE_INVALID');
    });

    it('answers a denied consent with 401, not 500', async () => {
      const res = await callback(
        new URL(`${t.baseUrl}/api/v1/auth/google/callback?error=access_denied&error_description=no`),
      );
      expect(res.status).toBe(401);
      expectErrorShape(await res.json(), 401, 'OAUTH_FAILED');
    });
  });

  describe('provider failures', () => {
    it('answers 401 when the provider refuses the code exchange (bad client secret)', async () => {
      await mock.configure({
        clients: {},
        google: { status: 200, body: { sub: 'x', email: uniqueEmail('x'), email_verified: true } },
      });
      const walk = await startSignIn(t, 'google');
      const res = await callback(walk.callbackUrl, walk.stateCookie);
      expect(res.status).toBe(401);
      expectErrorShape(await res.json(), 401, 'OAUTH_FAILED');
    });

    it('answers 502 when the profile endpoint fails', async () => {
      await mock.configure({
        clients: { [GOOGLE.id]: GOOGLE.secret },
        google: { status: 500, body: { error: 'boom' } },
      });
      const walk = await startSignIn(t, 'google');
      const res = await callback(walk.callbackUrl, walk.stateCookie);
      expect(res.status).toBe(502);
      expectErrorShape(await res.json(), 502, 'OAUTH_PROVIDER_ERROR');
    });
  });

  describe('GitHub', () => {
    it('creates a user from /user and the primary verified address of /user/emails', async () => {
      const primary = uniqueEmail('gh-new');
      await github(
        {
          id: 4242,
          login: 'octocat',
          name: null,
          avatar_url: 'https://avatars.example.com/u/4242',
          email: null,
        },
        [
          { email: uniqueEmail('gh-secondary'), primary: false, verified: true },
          { email: primary.toUpperCase(), primary: true, verified: true },
        ],
      );
      const walk = await startSignIn(t, 'github');
      const q = walk.authorizeUrl.searchParams;
      expect(q.get('client_id')).toBe(GITHUB.id);
      expect(q.get('redirect_uri')).toBe(`${t.baseUrl}/api/v1/auth/github/callback`);
      expect(q.get('scope')).toBe('read:user user:email');
      expect(q.get('state')).toMatch(/^github\./);
      const res = await callback(walk.callbackUrl, walk.stateCookie);
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location') ?? '');
      expect(location.search).toBe('');
      const accessToken = new URLSearchParams(location.hash.slice(1)).get('accessToken') ?? '';

      const user = await me(t, accessToken);
      expect(user).toEqual(
        expect.objectContaining({
          email: primary,
          fullName: 'octocat',
          avatarUrl: 'https://avatars.example.com/u/4242',
          oauthProvider: 'github',
        }),
      );
      expect(await userRow(t, primary)).toEqual(
        expect.objectContaining({ oauth_provider: 'github', oauth_id: '4242' }),
      );
      const log = await mock.log();
      expect(log.token).toEqual([
        expect.objectContaining({ client_id: GITHUB.id, client_secret: GITHUB.secret }),
      ]);
      expect(log.resource.map((r) => r.path)).toEqual(['/github/user', '/github/user/emails']);
      expect(log.resource.every((r) => r.token && r.userAgent)).toBe(true);
    });

    it('links an existing account when the primary address is verified', async () => {
      const existing = await registerUser(t, 'gh-link');
      await github(
        { id: 5151, login: 'linker', name: 'Linked Name', avatar_url: 'https://avatars.example.com/u/5151' },
        [{ email: existing.email, primary: true, verified: true }],
      );
      const { accessToken } = await signIn(t, 'github');
      const user = await me(t, accessToken);
      expect(user.id).toBe(existing.id);
      expect(user.oauthProvider).toBe('github');
      expect(user.avatarUrl).toBe('https://avatars.example.com/u/5151');
    });

    it('refuses to link when the primary address is not verified, even if /user shows it', async () => {
      const existing = await registerUser(t, 'gh-unverified');
      await github({ id: 6161, login: 'mallory', email: existing.email }, [
        { email: existing.email, primary: true, verified: false },
      ]);
      const walk = await startSignIn(t, 'github');
      const res = await callback(walk.callbackUrl, walk.stateCookie);
      expect(res.status).toBe(409);
      expectErrorShape(await res.json(), 409, 'OAUTH_EMAIL_UNVERIFIED');
      expect(await userRow(t, existing.email)).toEqual(
        expect.objectContaining({ oauth_provider: null, oauth_id: null }),
      );
    });
  });
});

describe('OAuth with no provider configured (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    '/api/v1/auth/google',
    '/api/v1/auth/google/callback?code=a&state=b',
    '/api/v1/auth/github',
    '/api/v1/auth/github/callback',
  ])('answers %s with 404 OAUTH_PROVIDER_NOT_CONFIGURED', async (path) => {
    const res = await t.http().get(path);
    expectErrorShape(res.body, 404, 'OAUTH_PROVIDER_NOT_CONFIGURED');
    expect(res.body.message).toMatch(/not configured/);
  });
});
