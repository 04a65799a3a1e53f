import { Client } from 'pg';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BASE_DATABASE_URL } from '../../support/test-app';

const ROOT = path.resolve(__dirname, '../../..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm start` run from the TypeScript sources (ts-node, transpile only) against a database that does not exist
 * yet (the primary creates and migrates it), its own Redis prefix and storage dir; its output is collected.
 */
export class NpmStart {
  readonly dbName = `mp_cluster_${randomBytes(4).toString('hex')}`;
  readonly dbUrl = Object.assign(new URL(BASE_DATABASE_URL), { pathname: `/${this.dbName}` }).toString();
  output = '';
  port = 0;
  primary!: ChildProcess;
  private storageDir = '';

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(env: Record<string, string>): Promise<this> {
    this.storageDir = mkdtempSync(path.join(tmpdir(), 'modelport-cluster-'));
    this.port = await freePort();
    this.primary = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/bin/start.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(this.port),
        DATABASE_URL: this.dbUrl,
        REDIS_PREFIX: `mptest:${this.dbName}`,
        STORAGE_DIR: this.storageDir,
        TS_NODE_PROJECT: 'tsconfig.json',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.primary.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.primary.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    return this;
  }

  /** Resolves with the first match of `pattern` in the output from `from` on. */
  waitFor(pattern: RegExp, from: number, timeoutMs = 180_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const until = Date.now() + timeoutMs;
      const check = () => {
        const found = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(
          this.output.slice(from),
        );
        if (found) return resolve(found);
        if (Date.now() > until)
          return reject(new Error(`timed out waiting for ${pattern}; output:\n${this.output}`));
        setTimeout(check, 100);
      };
      check();
    });
  }

  /** PIDs of the API workers that said they listen (from `from` on in the output). */
  apiWorkerPids(from = 0): number[] {
    return [...this.output.slice(from).matchAll(/listening on .*, worker (\d+)/g)].map((m) => Number(m[1]));
  }

  /** PIDs of the webhook workers that said they deliver. */
  webhookWorkerPids(from = 0): number[] {
    return [...this.output.slice(from).matchAll(/webhook worker (\d+) delivering webhooks/g)].map((m) =>
      Number(m[1]),
    );
  }

  /** SIGTERM to the primary; resolves with its exit code. */
  terminate(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) =>
      this.primary.once('exit', (code) => resolve(code)),
    );
    this.primary.kill('SIGTERM');
    return exited;
  }

  /** Kills whatever is left of the processes, drops the database and the storage dir. */
  async close(): Promise<void> {
    if (this.primary && this.primary.exitCode === null) this.primary.kill('SIGKILL');
    for (const pid of [...this.apiWorkerPids(), ...this.webhookWorkerPids()])
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    const admin = new Client({ connectionString: BASE_DATABASE_URL });
    await admin.connect();
    await admin.query(`drop database if exists "${this.dbName}" with (force)`);
    await admin.end();
    if (this.storageDir) rmSync(this.storageDir, { recursive: true, force: true });
  }
}
