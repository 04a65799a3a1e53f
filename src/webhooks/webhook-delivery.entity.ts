import {
  Entity,
  EntityRepositoryType,
  Enum,
  Index,
  ManyToOne,
  Opt,
  PrimaryKey,
  Property,
} from '@mikro-orm/core';
import { uuid7 } from '../common/uuid7';
import { TimestampedEntity } from '../database/base.entity';
import type { WebhookPayload } from './webhook-events.catalogue';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { Webhook } from './webhook.entity';

export const DELIVERY_STATUSES = ['pending', 'success', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event sent (or being sent) to one webhook, with the outcome of its latest attempt. */
@Entity({ tableName: 'webhook_deliveries', repository: () => WebhookDeliveriesRepository })
@Index({
  name: 'webhook_deliveries_webhook_id_created_at_id_index',
  properties: ['webhook', 'createdAt', 'id'],
})
// Partial index for the relay's "not yet queued" scan; declared here so schema diffs know it. Its predicate leaves
// `status` out so that writing an attempt's outcome can be a HOT update (Migration20261203100000).
@Index({
  name: 'webhook_deliveries_unqueued_index',
  expression: `create index "webhook_deliveries_unqueued_index" on "webhook_deliveries" ("created_at") where "queued_at" is null`,
})
export class WebhookDelivery extends TimestampedEntity {
  [EntityRepositoryType]?: WebhookDeliveriesRepository;

  /** Time-ordered (UUID v7), as predictions' ids: the primary key index takes new rows at its right edge. */
  @PrimaryKey({ type: 'uuid', defaultRaw: 'uuid_generate_v7()' })
  override id: string = uuid7();

  /**
   * Milliseconds, as a page cursor carries them (Migration20261203140000): deliveries are inserted by SQL and take
   * the column's default `now()`, which would otherwise keep microseconds the cursor cannot name.
   */
  @Property({ type: 'datetime', length: 3, defaultRaw: 'now()' })
  override createdAt: Opt<Date> = new Date();

  @ManyToOne(() => Webhook, { fieldName: 'webhook_id', deleteRule: 'cascade' })
  webhook!: Webhook;

  /** The event's id: the `webhook-id` header, the same on every retry and redelivery. */
  @Property({ type: 'uuid' })
  eventId!: string;

  @Property({ type: 'string', length: 64 })
  eventType!: string;

  @Property({ type: 'jsonb' })
  payload!: WebhookPayload;

  @Enum({ items: () => [...DELIVERY_STATUSES], default: 'pending' })
  status: Opt<DeliveryStatus> = 'pending';

  @Property({ type: 'integer', default: 0 })
  attempts: Opt<number> = 0;

  /** attempts allowed in all (1 + the webhook's maxRetries when the delivery was made). */
  @Property({ type: 'integer', default: 1 })
  maxAttempts: Opt<number> = 1;

  @Property({ type: 'integer', nullable: true })
  responseStatus: number | null = null;

  /** The first 2 KB of the latest response body. */
  @Property({ type: 'text', nullable: true })
  responseBody: string | null = null;

  @Property({ type: 'integer', nullable: true })
  durationMs: number | null = null;

  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  /** Set once the delivery job is in the queue; null rows are (re)queued by the outbox relay. */
  @Property({ type: 'datetime', nullable: true })
  queuedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  lastAttemptAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  nextAttemptAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  completedAt: Date | null = null;

  /** The delivery this one re-sends (a manual redelivery), if any. */
  @Property({ type: 'uuid', nullable: true })
  redeliveryOf: string | null = null;
}
