import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createTestApp, registerUser, TestApp, uniqueEmail } from '../support/test-app';

const ROOT = path.join(__dirname, '..', '..');

/** Runs the operator CLI as an operator would (`npm run cli -- ...`), from the TypeScript source. */
function runCli(
  t: TestApp,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register', path.join(ROOT, 'src/bin/cli.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', NODE_ENV: 'test', DATABASE_URL: t.databaseUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

jest.setTimeout(120_000);

describe('operator CLI: create-admin (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const row = async (email: string) =>
    (
      await t.orm.em
        .getConnection()
        .execute('select id, is_admin, is_active, full_name, hashed_password from users where email = ?', [
          email,
        ])
    )[0] as
      | {
          id: string;
          is_admin: boolean;
          is_active: boolean;
          full_name: string;
          hashed_password: string | null;
        }
      | undefined;

  it('creates the first admin, who can then sign in and list users', async () => {
    const email = uniqueEmail('first-admin');
    const result = await runCli(t, [
      'create-admin',
      '--email',
      `  ${email.toUpperCase()} `,
      '--password',
      'operator-secret-1',
      '--name',
      'Root Operator',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Created administrator ${email}`);
    const created = await row(email);
    expect(created).toEqual(
      expect.objectContaining({ is_admin: true, is_active: true, full_name: 'Root Operator' }),
    );
    expect(created?.hashed_password).toMatch(/^\$argon2id\$/);

    const login = await t.http().post('/api/v1/auth/login').send({ email, password: 'operator-secret-1' });
    expect(login.status).toBe(200);
    expect(login.body.user.isAdmin).toBe(true);
    const list = await t
      .http()
      .get('/api/v1/admin/users')
      .set('Authorization', `Bearer ${login.body.accessToken}`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((u: { email: string }) => u.email)).toContain(email);
  });

  it('promotes and re-activates an existing user without touching the password', async () => {
    const user = await registerUser(t, 'promote-me');
    const before = await row(user.email);
    await t.orm.em.getConnection().execute('update users set is_active = false where id = ?', [user.id]);
    const result = await runCli(t, ['create-admin', '--email', user.email]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Promoted existing user ${user.email}`);
    const after = await row(user.email);
    expect(after).toEqual(
      expect.objectContaining({
        id: user.id,
        is_admin: true,
        is_active: true,
        hashed_password: before?.hashed_password,
      }),
    );
    // the user's existing token now reaches the admin routes
    const list = await t.http().get('/api/v1/admin/users').set('Authorization', `Bearer ${user.accessToken}`);
    expect(list.status).toBe(200);
  });

  it('refuses bad arguments with a readable error and exit code 1, writing nothing', async () => {
    const email = uniqueEmail('bad-cli');
    const shortPassword = await runCli(t, ['create-admin', '--email', email, '--password', 'short']);
    expect(shortPassword.code).toBe(1);
    expect(shortPassword.stderr).toContain('--password must be 8 to 256 characters long');
    expect(await row(email)).toBeUndefined();

    const badEmail = await runCli(t, [
      'create-admin',
      '--email',
      'not-an-email',
      '--password',
      'long-enough-1',
    ]);
    expect(badEmail.code).toBe(1);
    expect(badEmail.stderr).toContain('--email "not-an-email" is not a valid e-mail address');

    const missingPassword = await runCli(t, ['create-admin', '--email', email]);
    expect(missingPassword.code).toBe(1);
    expect(missingPassword.stderr).toContain('--password is required');
    expect(await row(email)).toBeUndefined();
  });

  it('refuses an unknown command or option with exit code 1', async () => {
    const unknown = await runCli(t, ['make-coffee']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown command "make-coffee"');
    expect(unknown.stderr).toContain('Usage: npm run cli');
    const option = await runCli(t, [
      'create-admin',
      '--email',
      uniqueEmail('x'),
      '--password',
      'long-enough-1',
      '--admin',
    ]);
    expect(option.code).toBe(1);
    expect(option.stderr).toMatch(/Unknown option '--admin'/);
  });
});
