import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';

/** What the mock provider answers; see test/support/oauth-server.mjs. */
export interface OAuthScenario {
  clients?: Record<string, string>;
  google?: { status: number; body: unknown };
  github?: { status: number; body: unknown };
  githubEmails?: { status: number; body: unknown };
}

export interface OAuthLog {
  authorize: Record<string, string>[];
  token: Record<string, string>[];
  resource: { path: string; token: string | null; userAgent?: string | null }[];
}

export interface OAuthMock {
  url: string;
  configure: (scenario: OAuthScenario) => Promise<void>;
  log: () => Promise<OAuthLog>;
  close: () => Promise<void>;
}

/** Starts the real oauth2-mock-server (ESM-only) in a child process on a random loopback port. */
export async function startOAuthMock(): Promise<OAuthMock> {
  const child: ChildProcess = fork(path.join(__dirname, 'oauth-server.mjs'), [], {
    execArgv: [],
    stdio: 'inherit',
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the OAuth mock server did not start within 15 s')),
      15_000,
    );
    child.once('message', (message: { port: number }) => {
      clearTimeout(timer);
      resolve(message.port);
    });
    child.once('exit', (code) => reject(new Error(`the OAuth mock server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    configure: async (scenario) => {
      const res = await fetch(`${url}/__control`, { method: 'POST', body: JSON.stringify(scenario) });
      if (res.status !== 200) throw new Error(`configuring the OAuth mock failed: ${res.status}`);
    },
    log: async () => (await (await fetch(`${url}/__control`)).json()) as OAuthLog,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
