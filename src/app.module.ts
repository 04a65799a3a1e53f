import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { AdminModule } from './admin/admin.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthModule } from './auth/auth.module';
import type { AppConfig } from './config/app.config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { ThrottleModule } from './throttle/throttle.module';
import { RedisModule } from './redis/redis.module';
import { UsersModule } from './users/users.module';
import { ModelSharesModule } from './model-shares/model-shares.module';
import { PredictionsModule } from './predictions/predictions.module';
import { InferenceModule } from './inference/inference.module';
import { ModelsModule } from './models/models.module';
import { StorageModule } from './storage/storage.module';
import { buildLoggerOptions } from './config/logger.options';
import { EventsModule } from './events/events.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  /** The whole service for one validated configuration (main.ts loads it from the environment, tests build their own). */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => config] }),
        LoggerModule.forRoot(buildLoggerOptions(config)),
        DatabaseModule,
        RedisModule,
        BullModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (c: ConfigService<AppConfig, true>) => ({
            url: c.get('redisUrl', { infer: true }),
            prefix: `${c.get('redisPrefix', { infer: true })}:bull`,
          }),
        }),
        HealthModule,
        MetricsModule,
        ThrottleModule,
        UsersModule,
        AuthModule,
        ApiKeysModule,
        AdminModule,
        ModelSharesModule,
        PredictionsModule,
        InferenceModule,
        StorageModule,
        ModelsModule,
        EventsModule,
        WebhooksModule,
      ],
    };
  }
}
