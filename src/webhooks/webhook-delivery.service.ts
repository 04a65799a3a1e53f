import { Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AppConfig } from '../config/app.config';
import { MetricsService } from '../metrics/metrics.service';
import { OutboxSignal } from '../events/outbox-signal';
import { Semaphore } from '../common/semaphore';
import { retryDelayMs, type BackoffSettings } from './backoff';
import { SecretCipher } from './secret-cipher';
import {
  AttemptDelivery,
  AttemptWebhook,
  LoadedAttempt,
  WebhookDeliveriesRepository,
} from './webhook-deliveries.repository';
import { WebhookDelivery } from './webhook-delivery.entity';
import type { WebhookPayload } from './webhook-events.catalogue';
import { WebhookSender, type SendResult } from './webhook-sender';
import { signatureHeader } from './webhook-signer';
import type { Webhook } from './webhook.entity';
import { LANE_WAIT_EXPIRED, SLOW_REQUEST_MS, WebhookLanes } from './webhook-lanes';
import { WebhooksRepository } from './webhooks.repository';

/**
 * Adds the `deliver` job of a delivery's next attempt, delayed by `retry.delayMs`. Its id is the delivery and its
 * attempts so far, plus `key` when given (a deferral: a job of the same attempt may be running right now).
 */
export type ScheduleRetry = (
  delivery: AttemptDelivery,
  retry: RetryDeliveryError,
  key?: string,
) => Promise<void>;

/**
 * An attempt that should be retried. A `deliver` job throws it, and Bull's `webhook` backoff strategy reads `delayMs`
 * from it; a batch hands it to its `scheduleRetry`.
 */
export class RetryDeliveryError extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'RetryDeliveryError';
  }
}

function packageVersion(): string {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const parsed = JSON.parse(readFileSync(path.join(__dirname, candidate), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (parsed.name === 'modelport' && parsed.version) return parsed.version;
    } catch {
      // try the next location (src/ under ts-jest, dist/src/ when built)
    }
  }
  return '0.0.0';
}

export const USER_AGENT = `Modelport-Webhooks/${packageVersion()}`;

/** The delivery and webhook an attempt sends, as read again after a long wait, and when its request left. */
interface Sending {
  delivery: AttemptDelivery;
  webhook: AttemptWebhook;
  sentAt: Date;
}

/** A delivery that waited longer than this for a send slot is read again before it is sent. */
const RELOAD_AFTER_MS = 1000;

/**
 * Deliveries of one slow webhook that a process keeps waiting in memory for its lane (WebhookLanes), once the jobs
 * that brought them have finished (so no job waits on another tenant's slow endpoint). With SENDS_PER_SLOW_WEBHOOK
 * in flight and a timeout of at most 30 s, the last of them is sent within about 90 s, well before the relay's
 * stale sweep (5 minutes) could hand its row to another process. Beyond this many, a delivery is deferred: its
 * next attempt is set a timeout ahead and a `deliver` job delayed as long carries it, in Redis and Postgres.
 */
export const WAITING_PER_WEBHOOK = 4;

/**
 * How long a job waits for its delivery's lane before handing the delivery over: as long as a request takes to
 * make its webhook a slow one, so a job waits on a fast webhook's lane as before and never long on a slow one's.
 */
const LANE_WAIT_IN_JOB_MS = SLOW_REQUEST_MS;

/**
 * Sends deliveries: one attempt at a time, recording each outcome on the delivery row and the webhook (retry
 * count, last triggered, consecutive failures, disabling on 410 or too many failed events).
 */
@Injectable()
export class WebhookDeliveryService implements OnModuleDestroy {
  private readonly logger = new Logger(WebhookDeliveryService.name);
  private readonly backoff: BackoffSettings;
  private readonly disableAfter: number;
  /** WEBHOOKS_DELIVERY_CONCURRENCY: requests in flight in this process, whatever job they belong to. */
  private readonly sends: Semaphore;
  /**
   * Deliveries this process is attempting now. A delivery can sit in two jobs (a batch re-queued by the stale sweep
   * while the first copy still waited, or added again after Redis answered too late); a second copy that comes
   * while the first runs skips it here, and one that comes later finds it no longer pending.
   */
  private readonly attempting = new Set<string>();
  /** Each webhook's share of the `sends` slots. */
  private readonly lanes: WebhookLanes;
  /** Attempts that outlive the job that brought them (a busy webhook's), by delivery id; awaited on shutdown. */
  private readonly detached = new Map<string, Promise<void>>();
  private closing = false;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly webhooks: WebhooksRepository,
    private readonly sender: WebhookSender,
    private readonly cipher: SecretCipher,
    private readonly signal: OutboxSignal,
    config: ConfigService<AppConfig, true>,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    const settings = config.get('webhooks', { infer: true });
    this.backoff = {
      baseMs: settings.backoffBaseMs,
      maxMs: settings.backoffMaxMs,
      retryAfterMaxMs: settings.retryAfterMaxMs,
    };
    this.disableAfter = settings.disableAfterFailures;
    this.sends = new Semaphore(settings.deliveryConcurrency);
    this.lanes = new WebhookLanes(settings.deliveryConcurrency);
  }

  /**
   * The secrets that sign right now: the current one, plus the previous one during its overlap after a rotation.
   * A previous secret that cannot be decrypted (stored under an earlier WEBHOOK_SECRET_KEY) is left out, so rotating
   * is how a webhook recovers after the key changed; a current one that cannot be decrypted throws.
   */
  liveSecrets(webhook: AttemptWebhook, now: Date = new Date()): string[] {
    const secrets = [this.cipher.decrypt(webhook.secret)];
    if (webhook.previousSecret && webhook.previousSecretExpiresAt && webhook.previousSecretExpiresAt > now) {
      try {
        secrets.push(this.cipher.decrypt(webhook.previousSecret));
      } catch {
        // unreadable under this key: sign with the current secret alone
      }
    }
    return secrets;
  }

  /** The exact request headers of one attempt. */
  buildHeaders(
    webhook: AttemptWebhook,
    eventId: string,
    body: string,
    now: Date = new Date(),
  ): Record<string, string> {
    const timestamp = Math.floor(now.getTime() / 1000);
    return {
      ...(webhook.headers ?? {}),
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(this.liveSecrets(webhook, now), eventId, timestamp, body),
    };
  }

  /** A new pending delivery of the same event (same `webhook-id`), queued by the relay. */
  async redeliver(webhook: Webhook, original: WebhookDelivery): Promise<WebhookDelivery> {
    const delivery = this.deliveries.create({
      webhook,
      eventId: original.eventId,
      eventType: original.eventType,
      payload: original.payload,
      maxAttempts: webhook.maxRetries + 1,
      redeliveryOf: original.id,
    });
    await this.deliveries.getEntityManager().flush();
    this.signal.ring();
    return delivery;
  }

  /** `webhook.test`, sent once right now (no retries, not counted towards auto-disable). */
  async sendTest(webhook: Webhook): Promise<WebhookDelivery> {
    const now = new Date();
    const payload: WebhookPayload = {
      type: 'webhook.test',
      timestamp: now.toISOString(),
      data: { webhookId: webhook.id, message: 'A test delivery from Modelport' },
    };
    const delivery = this.deliveries.create({
      webhook,
      eventId: randomUUID(),
      eventType: payload.type,
      payload,
      maxAttempts: 1,
      queuedAt: now,
    });
    await this.deliveries.getEntityManager().flush();
    await this.attempt({ delivery, webhook }, { lastChance: true, countsTowardsDisable: false });
    return delivery;
  }

  /**
   * One queued attempt (a `deliver` job). Returns normally when the delivery is finished (success, a final failure,
   * or nothing left to do); throws RetryDeliveryError when Bull should try again later.
   * `lastChance`: Bull will not run this job again, whatever the delivery row says.
   */
  async attemptQueued(deliveryId: string, lastChance: boolean, scheduleRetry: ScheduleRetry): Promise<void> {
    const retry = await this.exclusively(deliveryId, async () => {
      const loadedAt = Date.now();
      const found = await this.deliveries.loadForAttempt(deliveryId);
      if (!found || found.delivery.status !== 'pending') return null; // deleted, or a duplicate of a finished one
      const outcome = await this.attemptInJob(found, { lastChance, loadedAt });
      if (outcome === 'handOver') return this.handOver(found, loadedAt, scheduleRetry);
      return outcome?.retry ?? null;
    });
    if (retry) throw retry;
  }

  /**
   * The first attempts of a batch of deliveries (a `deliver-batch` job), side by side within
   * WEBHOOKS_DELIVERY_CONCURRENCY; the batch loads its deliveries with one query, and the outcomes of
   * OUTCOME_WINDOW_MS are saved together. A delivery to retry is handed to `scheduleRetry` (a `deliver` job of its
   * own) once its outcome is saved. A delivery whose claim (`queued_at`) is no longer the one the job carries was
   * handed back and is another job's. A batch run again (Bull retries a batch that failed as a whole) sends only
   * deliveries that were never attempted: a finished one is skipped, and one already attempted is handed
   * to `scheduleRetry` with the time left until its retry is due (a no-op while its retry job exists), so it is
   * never sent before its backoff. Throws the first error of any delivery once all have settled.
   */
  async attemptBatch(
    batch: { deliveryIds: string[]; claims?: string[] },
    scheduleRetry: ScheduleRetry,
  ): Promise<void> {
    const loadedAt = Date.now();
    const outcomes = await Promise.allSettled(
      batch.deliveryIds.map((id, i) =>
        this.exclusively(id, async () => {
          const found = await this.deliveries.loadForAttempt(id);
          if (!found || found.delivery.status !== 'pending') return null;
          // Handed back and claimed again since this job was queued (a newer job carries it), or handed back and
          // waiting for a new claim: not this job's to send.
          const claim = batch.claims?.[i];
          if (claim !== undefined && found.claim !== claim) return null;
          const due = found.delivery.nextAttemptAt?.getTime();
          if (found.delivery.attempts > 0 || due !== undefined) {
            // Attempted already, or deferred (its job is keyed by when it is due, so this adds no second one).
            const dueInMs = Math.max(0, (due ?? 0) - Date.now());
            const key = found.delivery.attempts === 0 && due !== undefined ? deferralKey(due) : undefined;
            await scheduleRetry(found.delivery, new RetryDeliveryError('resumed', dueInMs), key);
            return null;
          }
          const outcome = await this.attemptInJob(found, { lastChance: false, loadedAt });
          if (outcome === 'handOver') return this.handOver(found, loadedAt, scheduleRetry);
          if (outcome?.retry) await scheduleRetry(outcome.delivery, outcome.retry);
          return null;
        }),
      ),
    );
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /**
   * Stops taking new sends: deliveries handed over from now on, and those still waiting for their webhook's lane,
   * go back to the relay's queue (`queued_at` cleared), so the next process to start sends them at once.
   */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    this.lanes.releaseWaiters();
    while (this.detached.size > 0) await Promise.allSettled([...this.detached.values()]);
  }

  /**
   * An attempt within a job: it waits for its webhook's lane as long as the webhook is not slow (a fast one's lane
   * frees within milliseconds), and gives up (`handOver`, which the caller does) at once or as soon as it is slow,
   * so that no job waits on another tenant's slow endpoint.
   */
  private async attemptInJob(
    found: LoadedAttempt,
    options: { lastChance: boolean; loadedAt: number },
  ): ReturnType<WebhookDeliveryService['attempt']> {
    const webhookId = found.webhook.id;
    if (this.lanes.full(webhookId) && this.lanes.isSlow(webhookId)) return 'handOver';
    for (;;) {
      const outcome = await this.attempt(found, {
        ...options,
        countsTowardsDisable: true,
        maxLaneWaitMs: LANE_WAIT_IN_JOB_MS,
      });
      if (outcome !== 'handOver' || this.lanes.isSlow(webhookId)) return outcome;
    }
  }

  /**
   * A delivery its job does not wait for, because its webhook is slow and busy, so that no job waits on another
   * tenant's endpoint. While shutting down it goes back to the relay. Otherwise it waits in memory after the job has
   * ended (`detach`), or, once WAITING_PER_WEBHOOK of its webhook wait so, it is deferred: its next attempt is set
   * one timeout ahead (which keeps the relay's stale sweep off it) and a `deliver` job keyed by that time carries it.
   * Its attempts so far are untouched, and so are the job's: the job that hands it over returns normally.
   */
  private async handOver(
    found: LoadedAttempt,
    loadedAt: number,
    scheduleRetry: ScheduleRetry,
  ): Promise<null> {
    const { delivery, webhook } = found;
    // Taken over from its job first: a copy of the job run again (Bull retries a batch that failed as a whole,
    // perhaps in another process) must not send it too. Not ours any more: another job carries it.
    const claim = await this.deliveries.moveClaim(delivery.id, found.claim ?? null);
    if (claim === null) return null;
    found.claim = claim;
    if (this.closing) {
      await this.deliveries.unqueue([delivery.id]);
    } else if (this.lanes.queued(webhook.id) < WAITING_PER_WEBHOOK) {
      this.detach(found, loadedAt, scheduleRetry);
    } else {
      const delayMs = webhook.timeoutSeconds * 1000;
      const due = Date.now() + delayMs;
      delivery.nextAttemptAt = new Date(due);
      await this.deliveries.saveAttempt(delivery);
      await scheduleRetry(
        delivery,
        new RetryDeliveryError('Not sent yet: the endpoint already has requests in flight', delayMs),
        deferralKey(due),
      );
    }
    return null;
  }

  /**
   * Runs the attempt in the background, its retry handed to `scheduleRetry`; still counted as attempting (see
   * `exclusively`), and awaited on shutdown.
   */
  private detach(found: LoadedAttempt, loadedAt: number, scheduleRetry: ScheduleRetry): void {
    const id = found.delivery.id;
    const done = this.attempt(found, { lastChance: false, countsTowardsDisable: true, loadedAt })
      .then(async (outcome) => {
        if (outcome !== 'handOver' && outcome?.retry) await scheduleRetry(outcome.delivery, outcome.retry);
      })
      .catch((error: unknown) =>
        // The row is still pending and queued: the relay's stale sweep hands it back.
        this.logger.error(
          { err: error, deliveryId: id },
          'A webhook delivery waiting for its endpoint failed',
        ),
      )
      .finally(() => this.detached.delete(id));
    this.detached.set(id, done);
  }

  /** Runs `task` unless this process is already attempting the delivery (then: null). */
  private async exclusively(
    deliveryId: string,
    task: () => Promise<RetryDeliveryError | null>,
  ): Promise<RetryDeliveryError | null> {
    if (this.attempting.has(deliveryId) || this.detached.has(deliveryId)) return null;
    this.attempting.add(deliveryId);
    try {
      return await task();
    } finally {
      this.attempting.delete(deliveryId);
    }
  }

  /**
   * One attempt; its outcome is written with `saveAttempt` (plain SQL), whether or not the delivery is managed.
   * Returns the delivery as attempted and what to retry with, if it is to be tried again; null when, read again
   * after waiting for a send slot (`loadedAt` over RELOAD_AFTER_MS ago), it was finished or attempted meanwhile.
   */
  private async attempt(
    found: LoadedAttempt,
    options: {
      lastChance: boolean;
      countsTowardsDisable: boolean;
      loadedAt?: number;
      maxLaneWaitMs?: number;
    },
  ): Promise<{ delivery: AttemptDelivery; retry: RetryDeliveryError | null } | 'handOver' | null> {
    const sending: Sending = { delivery: found.delivery, webhook: found.webhook, sentAt: new Date() };
    const result = await this.lanes.run(
      found.webhook.id,
      (): Promise<SendResult | 'gone' | 'closing' | { notSent: string }> =>
        this.closing ? Promise.resolve('closing') : this.sends.run(() => this.send(found, sending, options)),
      options.maxLaneWaitMs,
    );
    if (result === LANE_WAIT_EXPIRED && !this.closing) return 'handOver';
    if (result === LANE_WAIT_EXPIRED || result === 'closing') {
      // Shut down before its turn came: back to the relay, which queues it again when a process starts.
      await this.deliveries.unqueue([found.delivery.id]);
      return null;
    }
    const { delivery, webhook, sentAt } = sending;
    if (result === 'gone') return null;
    if ('notSent' in result) {
      delivery.status = 'failed';
      delivery.error = result.notSent;
      delivery.completedAt = new Date();
      delivery.nextAttemptAt = null;
      this.metrics?.observeWebhookDelivery('failed');
      await this.deliveries.saveAttempt(delivery);
      return { delivery, retry: null };
    }
    delivery.attempts += 1;
    delivery.lastAttemptAt = sentAt;
    delivery.responseStatus = result.status;
    delivery.responseBody = result.body;
    delivery.durationMs = result.durationMs;
    delivery.error = result.error ?? (isSuccess(result) ? null : `HTTP ${result.status}`);
    await this.webhooks.recordAttempt(webhook.id, delivery.attempts > 1, isSuccess(result));
    let retry: RetryDeliveryError | null = null;
    if (isSuccess(result)) {
      this.finish(delivery, 'success');
    } else if (result.status === 410) {
      this.finish(delivery, 'failed');
      await this.webhooks.disable(webhook.id, 'The endpoint answered 410 Gone');
    } else if (delivery.attempts < delivery.maxAttempts && !options.lastChance) {
      const delayMs = retryDelayMs(delivery.attempts, this.backoff, result.retryAfterMs);
      delivery.nextAttemptAt = new Date(Date.now() + delayMs);
      retry = new RetryDeliveryError(delivery.error ?? 'failed', delayMs);
    } else {
      this.finish(delivery, 'failed');
      if (options.countsTowardsDisable) {
        const count = await this.webhooks.recordFailedEvent(
          webhook.id,
          this.disableAfter,
          `Disabled after ${this.disableAfter} consecutive failed events (last: ${delivery.error})`,
        );
        if (count >= this.disableAfter)
          this.logger.warn(`Webhook ${webhook.id} disabled after ${count} failed events`);
      }
    }
    this.metrics?.observeWebhookDelivery(isSuccess(result) ? 'success' : retry ? 'retry' : 'failed');
    await this.deliveries.saveAttempt(delivery);
    return { delivery, retry };
  }

  /**
   * The request of one attempt, once it holds a send slot; updates `sending` (the delivery and webhook as read
   * again after a long wait, and when the request left, which the signature's timestamp names).
   */
  private async send(
    found: LoadedAttempt,
    sending: Sending,
    options: { countsTowardsDisable: boolean; loadedAt?: number },
  ): Promise<SendResult | 'gone' | { notSent: string }> {
    if (options.loadedAt !== undefined && Date.now() - options.loadedAt > RELOAD_AFTER_MS) {
      // The slot took a while: a webhook disabled, re-pointed or deleted meanwhile must be honoured.
      const fresh = await this.deliveries.loadForAttempt(found.delivery.id);
      if (
        !fresh ||
        fresh.delivery.status !== 'pending' ||
        fresh.delivery.attempts !== found.delivery.attempts ||
        // Handed back and claimed again meanwhile: the newer job sends it.
        (found.claim !== undefined && fresh.claim !== found.claim)
      )
        return 'gone';
      sending.delivery = fresh.delivery;
      sending.webhook = fresh.webhook;
    }
    const { delivery, webhook } = sending;
    if (!webhook.isActive && options.countsTowardsDisable) {
      return {
        notSent: `Not sent: the webhook is disabled${webhook.disabledReason ? ` (${webhook.disabledReason})` : ''}`,
      };
    }
    const body = serializePayload(delivery.payload);
    sending.sentAt = new Date();
    let headers: Record<string, string>;
    try {
      headers = this.buildHeaders(webhook, delivery.eventId, body, sending.sentAt);
    } catch (error) {
      // No attempt can sign it (e.g. WEBHOOK_SECRET_KEY changed since the secret was stored): record why, once,
      // rather than fail the job (and its batch) again and again.
      const reason = error instanceof Error ? error.message : String(error);
      return { notSent: `Not sent: the signing secret could not be decrypted (${reason})` };
    }
    const finished = this.lanes.sending(webhook.id);
    try {
      return await this.sender.send(webhook.url, headers, body, webhook.timeoutSeconds * 1000);
    } finally {
      finished();
    }
  }

  private finish(delivery: AttemptDelivery, status: 'success' | 'failed'): void {
    delivery.status = status;
    delivery.completedAt = new Date();
    delivery.nextAttemptAt = null;
  }
}

/** Object keys sorted at every level, so a body is byte-identical whatever order jsonb hands the payload back in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** The request body: `{type, timestamp, data}` in that order, the same bytes on every attempt and redelivery. */
export function serializePayload(payload: WebhookPayload): string {
  return JSON.stringify({ type: payload.type, timestamp: payload.timestamp, data: canonical(payload.data) });
}

function isSuccess(result: SendResult): boolean {
  return result.status !== null && result.status >= 200 && result.status < 300;
}

/** The job key of a deferred delivery: when it is due, so handing the same deferral over twice adds one job. */
function deferralKey(dueMs: number): string {
  return `at${dueMs}`;
}
