import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from '../config/app.config';
import { buildLoggerOptions } from '../config/logger.options';
import { DatabaseModule } from '../database/database.module';
import { EventsModule } from '../events/events.module';
import { WebhookDeliveryModule } from './webhook-delivery.module';

/**
 * The delivery-only process (`npm run start:worker`): relays the outbox and consumes the webhook queue, with no
 * HTTP server and no routes. It always consumes, whatever WEBHOOKS_CONSUME_QUEUE says.
 */
@Module({})
export class WebhookWorkerModule {
  static forRoot(loaded: AppConfig): DynamicModule {
    const config: AppConfig = { ...loaded, webhooks: { ...loaded.webhooks, consumeQueue: true } };
    return {
      module: WebhookWorkerModule,
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
