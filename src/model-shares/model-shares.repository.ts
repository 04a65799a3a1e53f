import { EntityRepository } from '@mikro-orm/postgresql';
import type { ModelShare } from './model-share.entity';

export class ModelSharesRepository extends EntityRepository<ModelShare> {}
