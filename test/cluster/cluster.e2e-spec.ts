import { Client } from 'pg';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BASE_DATABASE_URL } from '../support/test-app';

/**
 * `npm start` with WEB_CONCURRENCY=2, run from the TypeScript sources (ts-node, transpile only): the primary
 * prepares the database once and forks two workers on one port, replaces a worker that dies, and stops them all
 * on SIGTERM.
 */
jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '../..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start with WEB_CONCURRENCY=2 (node:cluster)', () => {
  // A database that does not exist yet: the primary creates and migrates it.
  const dbName = `mp_cluster_${randomBytes(4).toString('hex')}`;
  const dbUrl = Object.assign(new URL(BASE_DATABASE_URL), { pathname: `/${dbName}` }).toString();
  let storageDir: string;
  let primary: ChildProcess;
  let output = '';
  let port: number;

  /** Resolves with the first match of `pattern` in the output from `from` on. */
  const waitFor = (pattern: RegExp, from: number, timeoutMs = 180_000): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const until = Date.now() + timeoutMs;
      const check = () => {
        const found = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(output.slice(from));
        if (found) return resolve(found);
        if (Date.now() > until)
          return reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`));
        setTimeout(check, 100);
      };
      check();
    });
  const workerPids = (from = 0) =>
    [...output.slice(from).matchAll(/listening on .*, worker (\d+)/g)].map((m) => Number(m[1]));

  beforeAll(async () => {
    storageDir = mkdtempSync(path.join(tmpdir(), 'modelport-cluster-'));
    port = await freePort();
    primary = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/bin/start.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        DATABASE_URL: dbUrl,
        REDIS_PREFIX: `mptest:${dbName}`,
        STORAGE_DIR: storageDir,
        WEB_CONCURRENCY: '2',
        TS_NODE_PROJECT: 'tsconfig.json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    primary.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    primary.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(/worker \d+[\s\S]*worker \d+/, 0);
  });

  afterAll(async () => {
    if (primary && primary.exitCode === null) primary.kill('SIGKILL');
    for (const pid of workerPids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    const admin = new Client({ connectionString: BASE_DATABASE_URL });
    await admin.connect();
    await admin.query(`drop database if exists "${dbName}" with (force)`);
    await admin.end();
    if (storageDir) rmSync(storageDir, { recursive: true, force: true });
  });

  it('serves from two workers on one port, after preparing the database once in the primary', async () => {
    expect(output).toMatch(/Primary \d+: starting 2 workers/);
    expect(output.match(/Created database/g) ?? []).toHaveLength(1);
    expect(output.match(/Applied migrations/g) ?? []).toHaveLength(1);
    const pids = workerPids();
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(primary.pid);
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/health/live`);
      expect(res.status).toBe(200);
    }
  });

  it('replaces a worker that dies', async () => {
    const [victim, survivor] = workerPids();
    const from = output.length;
    process.kill(victim, 'SIGKILL');
    await waitFor(new RegExp(`Worker ${victim} exited \\(SIGKILL\\); starting a new one`), from);
    const [replacement] = await waitFor(/listening on .*, worker (\d+)/, from).then((m) => [Number(m[1])]);
    expect(replacement).not.toBe(victim);
    expect(alive(survivor)).toBe(true);
    const res = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(res.status).toBe(200);
  });

  it('stops every worker and exits 0 on SIGTERM', async () => {
    const pids = workerPids().filter(alive);
    expect(pids).toHaveLength(2);
    const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  });
});
