import type { EntityManager } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { WebhookEventType } from '../webhooks/webhook-events.catalogue';
import { WebhookEvent } from './webhook-event.entity';
import { OutboxSignal } from './outbox-signal';

export interface RecordedEvent {
  type: WebhookEventType;
  /** The owner whose webhooks hear the event (for models and predictions: the model's owner). */
  userId: string;
  /** The model the event is about; webhooks filtered on another model do not hear it. */
  modelId?: string | null;
  data: Record<string, unknown>;
}

/** An outbox row, fixed at the moment the event happened (see `toRow`). */
export interface OutboxRow {
  id: string;
  createdAt: Date;
  type: WebhookEventType;
  userId: string;
  modelId: string | null;
  payload: { type: WebhookEventType; timestamp: string; data: Record<string, unknown> };
}

/** The columns of a raw multi-row INSERT into the outbox, in `outboxValues` order. */
export const OUTBOX_INSERT_COLUMNS = 'webhook_events (id, created_at, type, user_id, model_id, payload)';

/** One row's `($n, ...)` group for OUTBOX_INSERT_COLUMNS, its values appended to `values`. */
export function outboxValues(row: OutboxRow, values: unknown[]): string {
  const n = values.length;
  values.push(
    row.id,
    row.createdAt.toISOString(),
    row.type,
    row.userId,
    row.modelId,
    JSON.stringify(row.payload),
  );
  return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}::jsonb)`;
}

/**
 * Records webhook events in the outbox. Call `record(em, ...)` with the transactional EntityManager of the change
 * that causes the event: the row commits (or rolls back) with that change, needs only Postgres, and the relay
 * delivers it once Redis is reachable.
 */
@Injectable()
export class WebhookEventsService implements OnModuleInit {
  constructor(
    private readonly orm: MikroORM,
    private readonly signal: OutboxSignal,
  ) {}

  onModuleInit(): void {
    // Ring the relay as soon as a transaction that may have written events commits.
    this.orm.em.getEventManager().registerSubscriber({
      afterTransactionCommit: () => {
        if (this.pending > 0) {
          this.pending = 0;
          this.committed();
        }
      },
    });
  }

  private pending = 0;

  async record(em: EntityManager, event: RecordedEvent): Promise<string> {
    const row = this.toRow(event);
    await em.insert(WebhookEvent, { ...row, relayedAt: null });
    if (em.isInTransaction()) this.pending += 1;
    else this.committed();
    return row.id;
  }

  /**
   * The outbox row of an event, for a writer that inserts it itself in the statement that makes the change (the
   * predictions group commit, with `outboxValues`); it calls `committed()` once that statement has committed.
   */
  toRow(event: RecordedEvent): OutboxRow {
    const createdAt = new Date();
    return {
      id: randomUUID(),
      createdAt,
      type: event.type,
      userId: event.userId,
      modelId: event.modelId ?? null,
      payload: { type: event.type, timestamp: createdAt.toISOString(), data: event.data },
    };
  }

  /**
   * Outbox rows have committed (after `record`, or written with `toRow` by their writer): wake the relay, once per
   * event-loop turn however many commits there were.
   */
  committed(): void {
    if (this.ringScheduled) return;
    this.ringScheduled = true;
    setImmediate(() => {
      this.ringScheduled = false;
      this.signal.ring();
    });
  }

  private ringScheduled = false;
}
