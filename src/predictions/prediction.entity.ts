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
import { randomUUID } from 'node:crypto';
import { Model } from '../models/model.entity';
import { User } from '../users/user.entity';
import { PredictionsRepository } from './predictions.repository';

export const PREDICTION_STATUSES = ['pending', 'success', 'failed'] as const;
export type PredictionStatus = (typeof PREDICTION_STATUSES)[number];

/** Append-only record of one inference attempt; no updated_at, as in the ER diagram. */
@Entity({ tableName: 'predictions', repository: () => PredictionsRepository })
@Index({ name: 'predictions_model_id_created_at_id_index', properties: ['model', 'createdAt', 'id'] })
@Index({ name: 'predictions_user_id_created_at_id_index', properties: ['user', 'createdAt', 'id'] })
export class Prediction {
  [EntityRepositoryType]?: PredictionsRepository;

  @PrimaryKey({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  id: string = randomUUID();

  /**
   * Predictions go with their model. No single-column index: the (model_id, created_at, id) keyset index leads
   * with it and serves every lookup by model (and the cascade), so a second one would only slow inserts.
   */
  @ManyToOne(() => Model, { fieldName: 'model_id', deleteRule: 'cascade', index: false })
  model!: Model;

  /** And with the user who made them (indexed by the leading column of (user_id, created_at, id)). */
  @ManyToOne(() => User, { fieldName: 'user_id', deleteRule: 'cascade', index: false })
  user!: User;

  @Property({ type: 'jsonb' })
  inputData!: unknown;

  @Property({ type: 'jsonb', nullable: true })
  outputData: unknown = null;

  @Property({ type: 'integer', nullable: true })
  inferenceTimeMs: number | null = null;

  @Enum({ items: () => [...PREDICTION_STATUSES] })
  @Index({ name: 'predictions_status_index' })
  status!: PredictionStatus;

  @Property({ type: 'text', nullable: true })
  errorMessage: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  @Index({ name: 'predictions_created_at_index' })
  createdAt: Opt<Date> = new Date();
}
