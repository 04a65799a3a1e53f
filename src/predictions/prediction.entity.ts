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

  /** Time-ordered (UUID v7), so the primary key index takes new rows at its right edge (see uuid7). */
  @PrimaryKey({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  id: string = uuid7();

  /**
   * Predictions go with their model. No single-column index: the (model_id, created_at, id) keyset index leads
   * with it and serves every lookup by model (and the cascade), so a second one would only slow inserts.
   */
  @ManyToOne(() => Model, { fieldName: 'model_id', deleteRule: 'cascade', index: false })
  model!: Model;

  /** And with the user who made them (indexed by the leading column of (user_id, created_at, id)). */
  @ManyToOne(() => User, { fieldName: 'user_id', deleteRule: 'cascade', index: false })
  user!: User;

  /**
   * `json`, not `jsonb` (the ER diagram's type): Postgres stores the input's text as sent (validated) instead of
   * converting every number to `numeric` — for a 784-number MNIST input that conversion costs ~180 µs of database
   * CPU per row against ~30 µs (bench/README.md). Nothing queries inside inputs; `->` and `->>` still work.
   */
  @Property({ type: 'json', columnType: 'json' })
  inputData!: unknown;

  @Property({ type: 'jsonb', nullable: true })
  outputData: unknown = null;

  @Property({ type: 'integer', nullable: true })
  inferenceTimeMs: number | null = null;

  /** Not indexed on its own: three values, and every query filters by model, user or time first. */
  @Enum({ items: () => [...PREDICTION_STATUSES] })
  status!: PredictionStatus;

  @Property({ type: 'text', nullable: true })
  errorMessage: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  @Index({ name: 'predictions_created_at_index' })
  createdAt: Opt<Date> = new Date();
}

/**
 * A new prediction as a plain object of the entity's shape, for the write path: it is written with plain SQL by
 * the group commit (PredictionsRepository.insertBatch) and never managed by an EntityManager, so it needs none of
 * the accessors MikroORM puts on an entity's prototype (which cost more than the rest of building it).
 */
export function newPrediction(
  fields: Pick<Prediction, 'model' | 'user' | 'inputData' | 'status'>,
): Prediction {
  return {
    id: uuid7(),
    model: fields.model,
    user: fields.user,
    inputData: fields.inputData,
    outputData: null,
    inferenceTimeMs: null,
    status: fields.status,
    errorMessage: null,
    createdAt: new Date(),
  };
}
