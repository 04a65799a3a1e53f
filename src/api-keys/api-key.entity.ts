import {
  Entity,
  EntityRepositoryType,
  Index,
  ManyToOne,
  Opt,
  PrimaryKey,
  Property,
  Unique,
} from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { User } from '../users/user.entity';
import { ApiKeysRepository } from './api-keys.repository';

@Entity({ tableName: 'api_keys', repository: () => ApiKeysRepository })
export class ApiKey {
  [EntityRepositoryType]?: ApiKeysRepository;

  @PrimaryKey({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  id: string = randomUUID();

  @ManyToOne(() => User, { fieldName: 'user_id', deleteRule: 'cascade', index: 'api_keys_user_id_index' })
  user!: User;

  /** SHA-256 of the key, hex. The key itself is shown once and never stored. */
  @Property({ type: 'string', length: 64, hidden: true })
  @Unique({ name: 'api_keys_key_hash_unique' })
  keyHash!: string;

  /** The first characters of the key, so a person can tell keys apart (beyond the ER diagram). */
  @Property({ type: 'string', length: 16 })
  prefix!: string;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'boolean', default: true })
  @Index({ name: 'api_keys_is_active_index' })
  isActive: Opt<boolean> = true;

  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Opt<Date> = new Date();
}
