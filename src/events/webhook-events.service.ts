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
          setImmediate(() => this.signal.ring());
        }
      },
    });
  }

  private pending = 0;

  async record(em: EntityManager, event: RecordedEvent): Promise<string> {
    const id = randomUUID();
    const createdAt = new Date();
    await em.insert(WebhookEvent, {
      id,
      createdAt,
      type: event.type,
      userId: event.userId,
      modelId: event.modelId ?? null,
      payload: { type: event.type, timestamp: createdAt.toISOString(), data: event.data },
      relayedAt: null,
    });
    if (em.isInTransaction()) this.pending += 1;
    else setImmediate(() => this.signal.ring());
    return id;
  }
}
