import { ArrayType, Entity, EntityRepositoryType, ManyToOne, Opt, Property } from '@mikro-orm/core';
import { TimestampedEntity } from '../database/base.entity';
import { Model } from '../models/model.entity';
import { User } from '../users/user.entity';
import { WebhooksRepository } from './webhooks.repository';

@Entity({ tableName: 'webhooks', repository: () => WebhooksRepository })
export class Webhook extends TimestampedEntity {
  [EntityRepositoryType]?: WebhooksRepository;

  @ManyToOne(() => User, { fieldName: 'user_id', deleteRule: 'cascade', index: 'webhooks_user_id_index' })
  user!: User;

  /**
   * A webhook filtered on one model goes with that model: set-null would silently widen it to every model.
   */
  @ManyToOne(() => Model, {
    fieldName: 'model_id',
    nullable: true,
    deleteRule: 'cascade',
    index: 'webhooks_model_id_index',
  })
  model: Model | null = null;

  @Property({ type: 'string', length: 2048 })
  url!: string;

  /** AES-256-GCM ciphertext of the signing secret (never the plaintext). */
  @Property({ type: 'text', hidden: true })
  secret!: string;

  @Property({ type: new ArrayType(), columnType: 'text[]' })
  events!: string[];

  @Property({ type: 'boolean', default: true })
  isActive: Opt<boolean> = true;

  @Property({ type: 'integer', default: 0 })
  retryCount: Opt<number> = 0;

  @Property({ type: 'integer', default: 5 })
  maxRetries: Opt<number> = 5;

  @Property({ type: 'integer', default: 10 })
  timeoutSeconds: Opt<number> = 10;

  @Property({ type: 'jsonb', nullable: true })
  headers: Record<string, string> | null = null;

  @Property({ type: 'datetime', nullable: true })
  lastTriggeredAt: Date | null = null;

  /** After a rotation, the previous secret (ciphertext) keeps signing alongside the new one until it expires. */
  @Property({ type: 'text', nullable: true, hidden: true })
  previousSecret: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  previousSecretExpiresAt: Date | null = null;

  /** Events in a row whose delivery failed for good; reset by a success. */
  @Property({ type: 'integer', default: 0 })
  consecutiveFailures: Opt<number> = 0;

  /** Why the service turned the webhook off (410 Gone, too many failures); cleared when the owner re-enables it. */
  @Property({ type: 'text', nullable: true })
  disabledReason: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  disabledAt: Date | null = null;
}
