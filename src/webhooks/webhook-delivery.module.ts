import { MikroOrmModule } from '@mikro-orm/nestjs';
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/app.config';
import { OutboxRelay } from './outbox-relay';
import { SecretCipher } from './secret-cipher';
import { WebhookDelivery } from './webhook-delivery.entity';
import { RetryDeliveryError, WebhookDeliveryService } from './webhook-delivery.service';
import { WEBHOOKS_QUEUE } from './webhook-events.catalogue';
import { WebhookSender } from './webhook-sender';
import { Webhook } from './webhook.entity';
import { WebhooksQueueConsumer } from './webhooks-queue.consumer';

/**
 * Everything that moves events to receivers — the outbox relay, the queue and its consumer, the signed HTTP
 * sender — without any HTTP routes, so `src/bin/worker.ts` can run it alone.
 */
@Module({
  imports: [
    MikroOrmModule.forFeature([Webhook, WebhookDelivery]),
    BullModule.registerQueueAsync({
      name: WEBHOOKS_QUEUE,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => {
        const { backoffBaseMs } = config.get('webhooks', { infer: true });
        return {
          // Bull's own reconnect backoff grows to 20 s; reconnect within 2 s so deliveries resume soon after Redis.
          redis: { retryStrategy: (times: number) => Math.min(times * 200, 2000) },
          settings: {
            // The attempt computes its own delay (backoff, jitter, Retry-After) and hands it over on the error.
            backoffStrategies: {
              webhook: (_attemptsMade: number, error: Error) =>
                error instanceof RetryDeliveryError ? error.delayMs : backoffBaseMs,
            },
            // Resume quickly after Redis comes back.
            retryProcessDelay: 500,
          },
        };
      },
    }),
  ],
  providers: [WebhookDeliveryService, WebhookSender, SecretCipher, OutboxRelay, WebhooksQueueConsumer],
  exports: [WebhookDeliveryService, SecretCipher],
})
export class WebhookDeliveryModule {}
