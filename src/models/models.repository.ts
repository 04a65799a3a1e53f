import { EntityRepository } from '@mikro-orm/postgresql';
import type { Model } from './model.entity';

export class ModelsRepository extends EntityRepository<Model> {}
