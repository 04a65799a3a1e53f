import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import type { WebhookPayload } from '../webhooks/webhook-events.catalogue';

/**
 * The transactional outbox: one row per event, written in the same transaction as the change that causes it and
 * moved to the delivery queue by the relay. No foreign keys: a model.deleted event outlives its model. (The
 * partial index on unrelayed rows is in the migration.)
 */
@Entity({ tableName: 'webhook_events' })
// Partial index for the relay's "not yet relayed" scan; declared here so schema diffs know it.
@Index({
  name: 'webhook_events_unrelayed_index',
  expression: `create index "webhook_events_unrelayed_index" on "webhook_events" ("created_at") where "relayed_at" is null`,
})
export class WebhookEvent {
  @PrimaryKey({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  id: string = randomUUID();

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'string', length: 64 })
  type!: string;

  /** The owner whose webhooks hear this event. */
  @Property({ type: 'uuid' })
  userId!: string;

  @Property({ type: 'uuid', nullable: true })
  modelId: string | null = null;

  @Property({ type: 'jsonb' })
  payload!: WebhookPayload;

  @Property({ type: 'datetime', nullable: true })
  relayedAt: Date | null = null;
}
