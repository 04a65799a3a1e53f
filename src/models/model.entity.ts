import {
  BigIntType,
  Entity,
  EntityRepositoryType,
  Enum,
  Index,
  ManyToOne,
  Opt,
  Property,
  Unique,
} from '@mikro-orm/core';
import { TimestampedEntity } from '../database/base.entity';
import { User } from '../users/user.entity';
import { ModelsRepository } from './models.repository';

export const MODEL_TYPES = ['sklearn', 'tensorflow', 'pytorch'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];
export const MODEL_STATUSES = ['active', 'deprecated', 'archived'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

@Entity({ tableName: 'models', repository: () => ModelsRepository })
@Unique({ name: 'models_user_id_name_version_unique', properties: ['user', 'name', 'version'] })
@Index({ name: 'models_user_id_created_at_id_index', properties: ['user', 'createdAt', 'id'] })
@Index({ name: 'models_created_at_index', properties: ['createdAt'] })
export class Model extends TimestampedEntity {
  [EntityRepositoryType]?: ModelsRepository;

  /** Deleting a user deletes their models (and, through them, predictions and shares). */
  @ManyToOne(() => User, { fieldName: 'user_id', deleteRule: 'cascade', index: 'models_user_id_index' })
  user!: User;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Enum({ items: () => [...MODEL_TYPES] })
  modelType!: ModelType;

  @Property({ type: 'integer' })
  version!: number;

  /** Relative to STORAGE_DIR: the content hash, never the client's file name. */
  @Property({ type: 'string', length: 255 })
  filePath!: string;

  @Property({ type: new BigIntType('number') })
  fileSize!: number;

  @Enum({ items: () => [...MODEL_STATUSES], default: 'active' })
  @Index({ name: 'models_status_index' })
  status: Opt<ModelStatus> = 'active';

  @Property({ type: 'jsonb', nullable: true })
  inputSchema: Record<string, unknown> | null = null;

  @Property({ type: 'jsonb', nullable: true })
  outputSchema: Record<string, unknown> | null = null;

  @Property({ type: 'jsonb', nullable: true })
  modelMetadata: Record<string, unknown> | null = null;
}
