import type { EntityManager } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { WebhookEventType } from '../webhooks/webhook-events.catalogue';
import { WebhookEvent } from './webhook-event.entity';
import { ClaimedDelivery, OutboxSignal } from './outbox-signal';

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
  /** A writer that fans the event out itself should claim its deliveries for the queue (OutboxSignal.queueHasRoom). */
  claim: boolean;
}

/**
 * Events as the columns of an `unnest` (see `eventsFromArrays`): one array per column, an event per index.
 */
export function eventArrays(rows: OutboxRow[]): unknown[][] {
  const columns: unknown[][] = [[], [], [], [], [], []];
  for (const row of rows) {
    columns[0].push(row.id);
    columns[1].push(row.createdAt.toISOString());
    columns[2].push(row.type);
    columns[3].push(row.userId);
    columns[4].push(row.modelId);
    columns[5].push(JSON.stringify(row.payload));
  }
  return columns;
}

/**
 * A CTE body (with the columns of webhook_events) over the arrays of `eventArrays`, bound from `$first` on: the
 * statement's text does not depend on how many events it holds, so it can be prepared once.
 */
export function eventsFromArrays(first: number): string {
  const [id, createdAt, type, userId, modelId, payload] = [0, 1, 2, 3, 4, 5].map((i) => `$${first + i}`);
  return `select * from unnest(${id}::uuid[], ${createdAt}::timestamptz[], ${type}::varchar[], ${userId}::uuid[], ${modelId}::uuid[], ${payload}::jsonb[])`;
}

/**
 * The fan-out of events into deliveries, as SQL: one pending delivery (not yet queued) per active webhook that
 * hears the event — the owner's webhooks, unfiltered or filtered on the event's model — for every row of `source`
 * (a table or CTE with the columns of webhook_events). The outbox relay runs it on outbox rows; the predictions
 * group commit runs it on its batch's events in the statement that writes the predictions, so a prediction's
 * deliveries commit with it and its event needs no outbox row of its own. The relay then queues the deliveries.
 * `claim`: the rows are made already marked queued and returned (id, eventId, queuedAt), for the writer to
 * hand to the relay (`committed`), which adds their jobs without a claiming UPDATE of its own.
 */
export function fanOutDeliveries(source: string, options: { claim?: boolean } = {}): string {
  const claim = options.claim === true;
  return `insert into webhook_deliveries (webhook_id, event_id, event_type, payload, max_attempts${claim ? ', queued_at' : ''})
    select w.id, e.id, e.type, e.payload, w.max_retries + 1${claim ? ', now()' : ''}
      from ${source} e
      join webhooks w on w.user_id = e.user_id and w.is_active and e.type = any(w.events)
                     and (w.model_id is null or w.model_id = e.model_id)
     order by e.created_at${claim ? ' returning id, event_id as "eventId", queued_at as "queuedAt"' : ''}`;
}

/** The outbox entity of a row, for `em.insert`. */
export function outboxEntity({ claim: _claim, ...row }: OutboxRow): Omit<OutboxRow, 'claim'> & {
  relayedAt: null;
} {
  return { ...row, relayedAt: null };
}

/** The columns of `eventArrays` / `eventsFromArrays`, for a CTE. */
export const EVENT_COLUMNS = '(id, created_at, type, user_id, model_id, payload)';

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
    await em.insert(WebhookEvent, outboxEntity(row));
    if (em.isInTransaction()) this.pending += 1;
    else this.committed();
    return row.id;
  }

  /**
   * The outbox row of an event, for a writer that writes it itself in the statement that makes the change (the
   * predictions group commit fans it out into deliveries with `eventArrays` and `fanOutDeliveries`); the writer
   * calls `committed()` once that statement has committed.
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
      claim: this.signal.queueHasRoom,
    };
  }

  /**
   * Outbox rows or deliveries have committed (after `record`, or written with `toRow` by their writer): wake the
   * relay, once per event-loop turn however many commits there were, handing it the deliveries those commits
   * claimed.
   */
  committed(claimed: ClaimedDelivery[] = []): void {
    for (const delivery of claimed) this.claimed.push(delivery);
    if (this.ringScheduled) return;
    this.ringScheduled = true;
    setImmediate(() => {
      this.ringScheduled = false;
      const handed = this.claimed;
      this.claimed = [];
      this.signal.ring(handed);
    });
  }

  private ringScheduled = false;
  /** Deliveries claimed by commits since the last ring (`fanOutDeliveries` with `claim`), for the relay. */
  private claimed: ClaimedDelivery[] = [];
}
