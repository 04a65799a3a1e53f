import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ConfigError, loadConfig, type AppConfig } from '../config/app.config';
import { prepareDatabase } from '../database/prepare-database';
import { WebhookWorkerModule } from '../webhooks/webhook-worker.module';

/** A process that only relays the outbox and delivers webhooks (no HTTP), on a prepared database. */
export async function bootstrapWebhookWorker(config: AppConfig): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WebhookWorkerModule.forRoot(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.get(Logger).log('Modelport webhook worker started: relaying the outbox and delivering webhooks');
  return app;
}

/** `npm run start:worker`: prepares the database (create if missing, migrate), then runs a webhook worker. */
async function startWorker(): Promise<void> {
  const config = loadConfig();
  await prepareDatabase(config.databaseUrl);
  await bootstrapWebhookWorker(config);
}

if (require.main === module) {
  startWorker().catch((error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  });
}
