import { EntityRepository } from '@mikro-orm/postgresql';
import type { Prediction } from './prediction.entity';

export class PredictionsRepository extends EntityRepository<Prediction> {}
