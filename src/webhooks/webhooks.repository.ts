import { EntityRepository } from '@mikro-orm/postgresql';
import type { Webhook } from './webhook.entity';

export class WebhooksRepository extends EntityRepository<Webhook> {}
