import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ConfigError, loadConfig } from '../config/app.config';
import { prepareDatabase } from '../database/prepare-database';
import { WebhookWorkerModule } from '../webhooks/webhook-worker.module';

/** `npm run start:worker`: a process that only relays and delivers webhooks (no HTTP). */
async function startWorker(): Promise<void> {
  const config = loadConfig();
  await prepareDatabase(config.databaseUrl);
  const app = await NestFactory.createApplicationContext(WebhookWorkerModule.forRoot(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.get(Logger).log('Modelport webhook worker started: relaying the outbox and delivering webhooks');
}

startWorker().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
