import type { Request } from 'express';
import { OAUTH_STATE_TTL_SECONDS, OAuthStateStore } from './oauth-state.store';

const SECRET = 'state-secret-for-unit-tests-00000000000000';

/** Runs store() on a fake request/response pair; returns the state and the cookie it set. */
function start(store: OAuthStateStore): {
  state: string;
  cookie: { name: string; value: string; options: Record<string, unknown> };
} {
  let cookie: { name: string; value: string; options: Record<string, unknown> } | undefined;
  let state: string | undefined;
  const req = {
    res: {
      cookie: (name: string, value: string, options: Record<string, unknown>) =>
        (cookie = { name, value, options }),
    },
  };
  store.store(req as unknown as Request, {}, (err, s) => {
    if (err) throw err;
    state = s;
  });
  if (!state || !cookie) throw new Error('store did not answer');
  return { state, cookie };
}

function verify(store: OAuthStateStore, state: unknown, cookieHeader?: string): boolean {
  let ok: boolean | undefined;
  const req = { headers: cookieHeader ? { cookie: cookieHeader } : {} };
  store.verify(req as unknown as Request, state, (err, result) => {
    if (err) throw err;
    ok = result;
  });
  if (ok === undefined) throw new Error('verify did not answer');
  return ok;
}

describe('OAuthStateStore', () => {
  it('sets an httpOnly SameSite=Lax cookie scoped to the provider routes, and a state carrying its nonce', () => {
    const { state, cookie } = start(new OAuthStateStore('google', SECRET, true));
    expect(cookie.name).toBe('mp_oauth_state_google');
    expect(cookie.options).toEqual(
      expect.objectContaining({
        httpOnly: true,
        sameSite: 'lax',
        secure: true,
        path: '/api/v1/auth/google',
        maxAge: OAUTH_STATE_TTL_SECONDS * 1000,
      }),
    );
    expect(state.split('.')[1]).toBe(cookie.value);
  });

  it('accepts its own state with the matching cookie', () => {
    const store = new OAuthStateStore('google', SECRET, false);
    const { state, cookie } = start(store);
    expect(verify(store, state, `other=1; ${cookie.name}=${cookie.value}`)).toBe(true);
  });

  it('refuses a missing state, a missing cookie, another cookie, or a non-string state', () => {
    const store = new OAuthStateStore('google', SECRET, false);
    const { state, cookie } = start(store);
    const other = start(store);
    expect(verify(store, undefined, `${cookie.name}=${cookie.value}`)).toBe(false);
    expect(verify(store, state)).toBe(false);
    expect(verify(store, state, `${cookie.name}=${other.cookie.value}`)).toBe(false);
    expect(verify(store, [state], `${cookie.name}=${cookie.value}`)).toBe(false);
  });

  it('refuses a tampered state, a state signed with another secret, or one for another provider', () => {
    const store = new OAuthStateStore('google', SECRET, false);
    const { state, cookie } = start(store);
    const jar = `${cookie.name}=${cookie.value}`;
    const [p, n, e, s] = state.split('.');
    expect(verify(store, `${p}.${n}.${Number(e) + 1}.${s}`, jar)).toBe(false);
    expect(verify(store, `${p}.${n}.${e}.${s}x`, jar)).toBe(false);
    expect(verify(store, `${state}.extra`, jar)).toBe(false);

    const foreign = start(new OAuthStateStore('google', 'another-secret-000000000000000000000000', false));
    expect(verify(store, foreign.state, `${cookie.name}=${foreign.cookie.value}`)).toBe(false);

    const github = new OAuthStateStore('github', SECRET, false);
    expect(verify(github, state, `mp_oauth_state_github=${cookie.value}`)).toBe(false);
  });

  it('refuses an expired state', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = new OAuthStateStore('github', SECRET, false, () => now);
    const { state, cookie } = start(store);
    now += (OAUTH_STATE_TTL_SECONDS - 1) * 1000;
    expect(verify(store, state, `${cookie.name}=${cookie.value}`)).toBe(true);
    now += 2000;
    expect(verify(store, state, `${cookie.name}=${cookie.value}`)).toBe(false);
  });
});
