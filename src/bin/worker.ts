import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { LoggerModule, Logger } from 'nestjs-pino';
import { ConfigError, loadConfig, type AppConfig } from '../config/app.config';
import { buildLoggerOptions } from '../config/logger.options';
import { DatabaseModule } from '../database/database.module';
import { prepareDatabase } from '../database/prepare-database';
import { EventsModule } from '../events/events.module';
import { WebhookDeliveryModule } from '../webhooks/webhook-delivery.module';

/** Only what relaying and delivering webhooks needs: no HTTP server, no routes. */
@Module({})
class WorkerModule {
  static forRoot(config: AppConfig) {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => config] }),
        LoggerModule.forRoot(buildLoggerOptions(config)),
        DatabaseModule,
        BullModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (c: ConfigService<AppConfig, true>) => ({
            url: c.get('redisUrl', { infer: true }),
            prefix: `${c.get('redisPrefix', { infer: true })}:bull`,
          }),
        }),
        EventsModule,
        WebhookDeliveryModule,
      ],
    };
  }
}

/** `npm run start:worker`: relays the outbox and delivers webhooks (whatever WEBHOOKS_CONSUME_QUEUE says). */
async function startWorker(): Promise<void> {
  const loaded = loadConfig();
  const config: AppConfig = { ...loaded, webhooks: { ...loaded.webhooks, consumeQueue: true } };
  await prepareDatabase(config.databaseUrl);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.get(Logger).log('Modelport webhook worker started');
}

startWorker().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
