import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Job, Queue } from 'bull';
import type { AppConfig } from '../config/app.config';
import type { DeliverJobData } from './outbox-relay';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { DELIVER_JOB, WEBHOOKS_QUEUE } from './webhook-events.catalogue';

/**
 * The queue processor, kept thin: one job = one attempt of one delivery. It only starts consuming when
 * WEBHOOKS_CONSUME_QUEUE is true (API processes may leave delivery to `npm run start:worker`), which is why it
 * registers its handler itself instead of through @Processor. Each attempt runs in its own ORM fork.
 */
@Injectable()
export class WebhooksQueueConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(WebhooksQueueConsumer.name);

  constructor(
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<DeliverJobData>,
    private readonly deliveries: WebhookDeliveryService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.on('error', (error) => this.logger.warn(`Webhook queue: ${String(error)}`));
    const { consumeQueue, deliveryConcurrency } = this.config.get('webhooks', { infer: true });
    if (!consumeQueue) return;
    this.queue
      .process(DELIVER_JOB, deliveryConcurrency, (job: Job<DeliverJobData>) =>
        this.deliveries.attemptQueued(job.data.deliveryId, job.attemptsMade + 1 >= (job.opts.attempts ?? 1)),
      )
      .catch((error: unknown) => this.logger.warn(`Webhook queue processing stopped: ${String(error)}`));
  }
}
