import { CreateRequestContext, MikroORM } from '@mikro-orm/postgresql';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/app.config';
import { ClaimedDelivery, OutboxSignal } from '../events/outbox-signal';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { withTimeout } from '../common/with-timeout';
import { DELIVER_BATCH_JOB, WEBHOOKS_QUEUE } from './webhook-events.catalogue';

const BATCH = 100;
export const ENQUEUE_TIMEOUT_MS = 3000;
/** A queued delivery with no sign of life for this long is queued again (see requeueStale). */
const STALE_AFTER_MS = 5 * 60_000;
const SWEEP_EVERY_MS = 30_000;
const KEEP_RELAYED_EVENTS_MS = 7 * 86_400_000;

/** A `deliver` job: the retries of one delivery. */
export interface DeliverJobData {
  deliveryId: string;
}

/** A `deliver-batch` job: the first attempts of the deliveries one relay batch queued. */
export interface DeliverBatchJobData {
  deliveryIds: string[];
  /** Each delivery's claim (`queued_at` as Postgres wrote it), in the same order. */
  claims?: string[];
}

export type WebhookJobData = DeliverJobData | DeliverBatchJobData;

/**
 * A batch job is retried (twice, 5 s apart) only if it failed as a whole, e.g. Postgres did not answer; a run again
 * sends only the deliveries never attempted (WebhookDeliveryService.attemptBatch). Its deliveries' own retries are
 * `deliver` jobs (WebhooksQueueConsumer).
 */
const BATCH_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'fixed', delay: 5000 },
  removeOnComplete: 1000,
  removeOnFail: 1000,
};

/**
 * Moves the outbox to the queue, in two stages so Redis being down never loses or blocks anything:
 * 1. events → pending delivery rows (one per matching webhook), in Postgres only;
 * 2. unqueued pending deliveries → one Bull `deliver-batch` job per batch of up to 100, only while Redis answers.
 *    A job per batch rather than per delivery: Bull's own work (its scripts, ≈4 Redis round trips a job) and the
 *    consumer's load and save queries are then paid once per batch.
 * The predictions group commit does stage 1 itself and claims its deliveries for stage 2 in the same statement;
 * it hands them over with its ring of the OutboxSignal, and the relay adds their jobs first.
 * Polls every WEBHOOKS_RELAY_INTERVAL_MS and runs at once when a producer rings the OutboxSignal after a commit.
 * Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of processes can relay side by side; a claimed row
 * whose job never got added (the process died in between) is handed back by the stale sweep.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelay.name);
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastSweep = 0;
  /** Deliveries their writer claimed (marked queued) and handed over, whose jobs are still to be added. */
  private handed: ClaimedDelivery[] = [];

  constructor(
    private readonly orm: MikroORM,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly signal: OutboxSignal,
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<WebhookJobData>,
    private readonly config: ConfigService<AppConfig, true>,
  ) {
    this.queueHighWater = config.get('webhooks', { infer: true }).queueHighWater;
  }

  /** WEBHOOKS_QUEUE_HIGH_WATER: see `enqueue`. */
  private readonly queueHighWater: number;

  onApplicationBootstrap(): void {
    const { relayIntervalMs, relayDebounceMs } = this.config.get('webhooks', { infer: true });
    this.timer = setInterval(() => this.kick(), relayIntervalMs);
    this.timer.unref();
    this.unsubscribe = this.signal.subscribe((claimed) => {
      for (const delivery of claimed) this.handed.push(delivery);
      this.kickSoon(relayDebounceMs);
    });
    this.kick();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.unsubscribe?.();
    await this.running;
  }

  /**
   * A commit rang the doorbell: run in `delayMs`, so that the events of every commit made meanwhile (one per
   * prediction under load) are relayed and queued as one batch rather than a run of their own each.
   */
  private kickSoon(delayMs: number): void {
    if (delayMs <= 0) return this.kick();
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.kick();
    }, delayMs);
  }

  /** Runs the relay now, or once more right after the current run. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.relayUntilIdle()
      .catch((error: unknown) => this.logger.warn(`Outbox relay failed: ${String(error)}`))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async relayUntilIdle(): Promise<void> {
    if (Date.now() - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = Date.now();
      const requeued = await this.sweep();
      if (requeued > 0)
        this.logger.warn(`Queued ${requeued} webhook deliveries again (their jobs were lost)`);
    }
    while (this.handed.length > 0 && !this.stopped) {
      await this.queueHanded(this.handed.splice(0, BATCH));
    }
    while (!this.stopped) {
      const events = await this.fanOut();
      const queued = await this.enqueue();
      if (events < BATCH && queued < BATCH) return;
    }
  }

  @CreateRequestContext()
  async sweep(): Promise<number> {
    await this.deliveries.pruneRelayedEvents(KEEP_RELAYED_EVENTS_MS);
    return this.deliveries.requeueStale(STALE_AFTER_MS);
  }

  /** Stage 1: one statement (see WebhookDeliveriesRepository.fanOutEvents). */
  fanOut(): Promise<number> {
    return this.deliveries.fanOutEvents(BATCH);
  }

  /**
   * Stage 2: claims a batch of unqueued deliveries (marked queued in the same statement) and adds their job.
   * Skipped while the queue's Redis connection is not ready, and held back while WEBHOOKS_QUEUE_HIGH_WATER jobs
   * already wait: a backlog (deliveries slower than events) then stays in Postgres, where it costs disk, instead
   * of growing Redis' memory without bound.
   */
  async enqueue(): Promise<number> {
    if ((await this.room()) <= 0) return 0;
    const rows = await this.deliveries.claimUnqueued(BATCH);
    if (rows.length === 0) return 0;
    return this.addJobs(rows);
  }

  /**
   * Deliveries their writer claimed: their job is added if the queue has room; otherwise (and while Redis is not
   * ready) they go back to Postgres for stage 2.
   */
  private async queueHanded(rows: ClaimedDelivery[]): Promise<void> {
    const room = await this.room().catch(() => 0);
    if (room > 0) await this.addJobs(rows);
    else await this.deliveries.unqueue(rows.map((row) => row.id));
  }

  /**
   * Jobs the queue can take now: 0 while Redis is not ready, else WEBHOOKS_QUEUE_HIGH_WATER less those waiting (a
   * waiting job is a batch of up to 100 first attempts, or the retry of one delivery).
   */
  private async room(): Promise<number> {
    let room = 0;
    try {
      if (this.queue.client.status === 'ready') {
        room = this.queueHighWater - (await withTimeout(this.waitingJobs(), ENQUEUE_TIMEOUT_MS));
      }
      return room;
    } finally {
      // Writers claim their deliveries only while another job would still fit after this one.
      this.signal.queueHasRoom = room > 1;
    }
  }

  /**
   * The Bull job of a batch of claimed deliveries; if Redis refuses it, the deliveries go back to Postgres
   * (`unqueue`) for a later run. Returns how many deliveries it queued. Should Redis take the job but answer too
   * late, the rows are claimed and queued again, and the job carries each row's claim: the copy whose claim is no
   * longer the row's leaves the delivery alone.
   */
  private async addJobs(rows: ClaimedDelivery[]): Promise<number> {
    try {
      await withTimeout(
        this.queue.add(
          DELIVER_BATCH_JOB,
          { deliveryIds: rows.map((row) => row.id), claims: rows.map((row) => row.queuedAt) },
          BATCH_JOB_OPTIONS,
        ),
        ENQUEUE_TIMEOUT_MS,
      );
      return rows.length;
    } catch (error) {
      this.logger.warn(`Could not queue webhook deliveries (will retry): ${String(error)}`);
      await this.deliveries.unqueue(rows.map((row) => row.id));
      return 0;
    }
  }

  /** Jobs waiting to run: Bull's `getWaitingCount` (the wait and paused lists) without its lodash plumbing. */
  private async waitingJobs(): Promise<number> {
    const client = this.queue.client;
    const [waiting, paused] = await Promise.all([
      client.llen(this.queue.toKey('wait')),
      client.llen(this.queue.toKey('paused')),
    ]);
    return waiting + paused;
  }
}
