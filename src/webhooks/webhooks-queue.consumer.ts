import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Job, Queue } from 'bull';
import type { AppConfig } from '../config/app.config';
import { Semaphore } from '../common/semaphore';
import { withTimeout } from '../common/with-timeout';
import {
  ENQUEUE_TIMEOUT_MS,
  type DeliverBatchJobData,
  type DeliverJobData,
  type WebhookJobData,
} from './outbox-relay';
import type { AttemptDelivery } from './webhook-deliveries.repository';
import { RetryDeliveryError, WebhookDeliveryService } from './webhook-delivery.service';
import { DELIVER_BATCH_JOB, DELIVER_JOB, WEBHOOKS_QUEUE } from './webhook-events.catalogue';

/**
 * Batch jobs one process has loaded at once; WEBHOOKS_DELIVERY_CONCURRENCY bounds the requests they send. Bull adds
 * up the concurrency of a queue's named handlers and any of its loops may take a batch job, so the bound is kept
 * here (`batches`), before a batch loads anything. A batch holds its place until its outcomes are written (the
 * 10 ms window), so under a steady stream of small batches 2 fell behind (≈760 deliveries/s for 910 events/s);
 * a delivery that waits long for its send slot is read again before it is sent.
 */
const BATCHES_IN_FLIGHT = 8;

/**
 * The queue processor, kept thin. A `deliver-batch` job is the first attempts of a relay batch; a delivery it must
 * retry gets a `deliver` job of its own, delayed by the attempt's backoff, which Bull retries with the same backoff
 * until the delivery's attempts are spent. It only starts consuming when WEBHOOKS_CONSUME_QUEUE is true (API
 * processes may leave delivery to `npm run start:worker`), which is why it registers its handlers itself instead of
 * through @Processor.
 */
@Injectable()
export class WebhooksQueueConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(WebhooksQueueConsumer.name);
  private readonly batches = new Semaphore(BATCHES_IN_FLIGHT);

  constructor(
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<WebhookJobData>,
    private readonly deliveries: WebhookDeliveryService,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.on('error', (error) => this.logger.warn(`Webhook queue: ${String(error)}`));
    const { consumeQueue, deliveryConcurrency } = this.config.get('webhooks', { infer: true });
    if (!consumeQueue) return;
    const stopped = (error: unknown) =>
      this.logger.warn(`Webhook queue processing stopped: ${String(error)}`);
    this.queue
      // The job's name tells its data's shape.
      .process(DELIVER_BATCH_JOB, BATCHES_IN_FLIGHT, (job: Job<WebhookJobData>) =>
        this.batches.run(() =>
          this.deliveries.attemptBatch(job.data as DeliverBatchJobData, (delivery, retry, key) =>
            this.scheduleRetry(delivery, retry, key),
          ),
        ),
      )
      .catch(stopped);
    this.queue
      .process(DELIVER_JOB, deliveryConcurrency, (job: Job<WebhookJobData>) =>
        this.deliveries.attemptQueued(
          (job.data as DeliverJobData).deliveryId,
          job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
          (delivery, retry, key) => this.scheduleRetry(delivery, retry, key),
        ),
      )
      .catch(stopped);
  }

  /**
   * The retries of a delivery whose first attempt failed: a `deliver` job after the attempt's delay, with the
   * attempts it has left. Its id names the delivery and its attempts so far, so handing over the same retry twice
   * (a batch run again) adds one job; a finished job of that id, whose run was cut short, is replaced. If Redis
   * refuses the job, the row (pending, queued, its next attempt due) is handed back by the relay's stale sweep five
   * minutes after that attempt was due.
   */
  private async scheduleRetry(
    delivery: AttemptDelivery,
    retry: RetryDeliveryError,
    key?: string,
  ): Promise<void> {
    try {
      await withTimeout(this.addRetryJob(delivery, retry, key), ENQUEUE_TIMEOUT_MS);
    } catch (error) {
      this.logger.warn(`Could not queue the retry of webhook delivery ${delivery.id}: ${String(error)}`);
    }
  }

  private async addRetryJob(
    delivery: AttemptDelivery,
    retry: RetryDeliveryError,
    key?: string,
  ): Promise<void> {
    const jobId = `${delivery.id}:${delivery.attempts}${key === undefined ? '' : `:${key}`}`;
    const existing = await this.queue.getJob(jobId);
    const state = await existing?.getState();
    if (state === 'completed' || state === 'failed') await existing?.remove();
    await this.queue.add(
      DELIVER_JOB,
      { deliveryId: delivery.id },
      {
        jobId,
        delay: retry.delayMs,
        attempts: delivery.maxAttempts - delivery.attempts,
        backoff: { type: 'webhook' },
        removeOnComplete: 1000,
        removeOnFail: 1000,
      },
    );
  }
}
