import cluster, { Worker } from 'node:cluster';
import { ConfigError, loadConfig, type AppConfig } from '../config/app.config';
import { prepareDatabase } from '../database/prepare-database';
import { bootstrap } from '../main';
import { bootstrapWebhookWorker } from './worker';

type Role = AppConfig['processRole'];

/** A worker that dies sooner than this after its start counts as a crash loop: the next restart waits. */
const QUICK_CRASH_MS = 5_000;
const RESTART_DELAY_MS = 1_000;
/** On SIGTERM, workers get this long to finish their requests before they are killed. */
const SHUTDOWN_GRACE_MS = 30_000;

/**
 * `npm start`: validate configuration, create the database if missing, apply migrations, serve. With
 * `WEB_CONCURRENCY=N` (N > 1) or `WEBHOOK_WORKERS=M` (M > 0) the database is prepared once here, in the cluster
 * primary, which then forks N workers that serve on the same port (the primary hands out connections) and M
 * webhook workers that relay and deliver webhooks (the API workers then leave delivery to them, as with
 * `npm run start:worker`); a worker that dies is replaced by one of the same kind, and SIGTERM/SIGINT are
 * forwarded to every worker for a graceful stop. Everything shared between workers (API-key revocations, refresh
 * tokens, rate limits, queues) lives in Postgres and Redis.
 */
async function start(): Promise<void> {
  if (cluster.isWorker) {
    const config = loadConfig();
    if (config.processRole === 'webhooks') {
      await bootstrapWebhookWorker(config);
      console.log(`Modelport webhook worker ${process.pid} delivering webhooks`);
      return;
    }
    await serve(config, `worker ${process.pid}`);
    return;
  }
  const config = loadConfig();
  const { created, applied } = await prepareDatabase(config.databaseUrl);
  if (created) console.log(`Created database ${new URL(config.databaseUrl).pathname.slice(1)}`);
  if (applied.length) console.log(`Applied migrations: ${applied.join(', ')}`);
  if (config.webConcurrency <= 1 && config.webhookWorkers === 0) {
    await serve(config, null);
    return;
  }
  runPrimary(config.webConcurrency, config.webhookWorkers);
}

async function serve(config: AppConfig, label: string | null): Promise<void> {
  const app = await bootstrap(config);
  const where = `Modelport listening on ${await app.getUrl()} (API docs at /docs)`;
  console.log(label ? `${where}, ${label}` : where);
}

function runPrimary(apiWorkers: number, webhookWorkers: number): void {
  let stopping = false;
  const running = new Map<Worker, { role: Role; startedAt: number }>();
  // The role travels in the worker's environment, where loadConfig reads it; API workers deliver no webhooks
  // while webhook workers run.
  const envOf: Record<Role, Record<string, string>> = {
    api: {
      MODELPORT_PROCESS_ROLE: 'api',
      ...(webhookWorkers > 0 ? { WEBHOOKS_CONSUME_QUEUE: 'false' } : {}),
    },
    webhooks: { MODELPORT_PROCESS_ROLE: 'webhooks' },
  };
  const fork = (role: Role) => {
    running.set(cluster.fork(envOf[role]), { role, startedAt: Date.now() });
  };

  cluster.on('exit', (worker, code, signal) => {
    const { role, startedAt } = running.get(worker) ?? { role: 'api', startedAt: 0 };
    const lived = Date.now() - startedAt;
    running.delete(worker);
    if (stopping) {
      if (running.size === 0) process.exit(0);
      return;
    }
    const kind = role === 'webhooks' ? 'Webhook worker' : 'Worker';
    console.error(`${kind} ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting a new one`);
    if (lived < QUICK_CRASH_MS) setTimeout(() => fork(role), RESTART_DELAY_MS);
    else fork(role);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping ${running.size} workers`);
    if (running.size === 0) process.exit(0);
    for (const worker of running.keys()) worker.process.kill(signal);
    setTimeout(() => {
      for (const worker of running.keys()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  console.log(
    `Primary ${process.pid}: starting ${apiWorkers} workers (WEB_CONCURRENCY)` +
      (webhookWorkers > 0 ? ` and ${webhookWorkers} webhook workers (WEBHOOK_WORKERS)` : ''),
  );
  for (let i = 0; i < apiWorkers; i++) fork('api');
  for (let i = 0; i < webhookWorkers; i++) fork('webhooks');
}

start().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
