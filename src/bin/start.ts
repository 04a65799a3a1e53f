import cluster, { Worker } from 'node:cluster';
import { ConfigError, loadConfig, type AppConfig } from '../config/app.config';
import { prepareDatabase } from '../database/prepare-database';
import { bootstrap } from '../main';

/** A worker that dies sooner than this after its start counts as a crash loop: the next restart waits. */
const QUICK_CRASH_MS = 5_000;
const RESTART_DELAY_MS = 1_000;
/** On SIGTERM, workers get this long to finish their requests before they are killed. */
const SHUTDOWN_GRACE_MS = 30_000;

/**
 * `npm start`: validate configuration, create the database if missing, apply migrations, serve. With
 * `WEB_CONCURRENCY=N` (N > 1) the database is prepared once here, in the cluster primary, which then forks N
 * workers that serve on the same port (the primary hands out connections); a worker that dies is replaced, and
 * SIGTERM/SIGINT are forwarded to every worker for a graceful stop. Everything shared between workers (API-key
 * revocations, refresh tokens, rate limits, queues) lives in Postgres and Redis.
 */
async function start(): Promise<void> {
  if (cluster.isWorker) {
    await serve(loadConfig(), `worker ${process.pid}`);
    return;
  }
  const config = loadConfig();
  const { created, applied } = await prepareDatabase(config.databaseUrl);
  if (created) console.log(`Created database ${new URL(config.databaseUrl).pathname.slice(1)}`);
  if (applied.length) console.log(`Applied migrations: ${applied.join(', ')}`);
  if (config.webConcurrency <= 1) {
    await serve(config, null);
    return;
  }
  runPrimary(config.webConcurrency);
}

async function serve(config: AppConfig, label: string | null): Promise<void> {
  const app = await bootstrap(config);
  const where = `Modelport listening on ${await app.getUrl()} (API docs at /docs)`;
  console.log(label ? `${where}, ${label}` : where);
}

function runPrimary(workers: number): void {
  let stopping = false;
  const startedAt = new Map<Worker, number>();
  const fork = () => startedAt.set(cluster.fork(), Date.now());

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    if (stopping) {
      if (startedAt.size === 0) process.exit(0);
      return;
    }
    console.error(`Worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting a new one`);
    if (lived < QUICK_CRASH_MS) setTimeout(fork, RESTART_DELAY_MS);
    else fork();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping ${startedAt.size} workers`);
    if (startedAt.size === 0) process.exit(0);
    for (const worker of startedAt.keys()) worker.process.kill(signal);
    setTimeout(() => {
      for (const worker of startedAt.keys()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  console.log(`Primary ${process.pid}: starting ${workers} workers (WEB_CONCURRENCY)`);
  for (let i = 0; i < workers; i++) fork();
}

start().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
