import { Entity, EntityRepositoryType, Enum, Index, ManyToOne, Unique } from '@mikro-orm/core';
import { TimestampedEntity } from '../database/base.entity';
import { Model } from '../models/model.entity';
import { User } from '../users/user.entity';
import { ModelSharesRepository } from './model-shares.repository';

export const SHARE_PERMISSIONS = ['view', 'use', 'edit'] as const;
export type SharePermission = (typeof SHARE_PERMISSIONS)[number];

@Index({ name: 'model_shares_created_at_index', properties: ['createdAt'] })
@Entity({ tableName: 'model_shares', repository: () => ModelSharesRepository })
@Unique({ name: 'model_shares_model_id_shared_with_user_id_unique', properties: ['model', 'sharedWithUser'] })
export class ModelShare extends TimestampedEntity {
  [EntityRepositoryType]?: ModelSharesRepository;

  @ManyToOne(() => Model, {
    fieldName: 'model_id',
    deleteRule: 'cascade',
    index: 'model_shares_model_id_index',
  })
  model!: Model;

  @ManyToOne(() => User, {
    fieldName: 'owner_id',
    deleteRule: 'cascade',
    index: 'model_shares_owner_id_index',
  })
  owner!: User;

  @ManyToOne(() => User, {
    fieldName: 'shared_with_user_id',
    deleteRule: 'cascade',
    index: 'model_shares_shared_with_user_id_index',
  })
  sharedWithUser!: User;

  @Enum({ items: () => [...SHARE_PERMISSIONS], nativeEnumName: 'share_permission' })
  permission!: SharePermission;
}
