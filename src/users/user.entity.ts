import { Entity, EntityRepositoryType, Enum, Index, Opt, Property, Unique } from '@mikro-orm/core';
import { TimestampedEntity } from '../database/base.entity';
import { UsersRepository } from './users.repository';

export const OAUTH_PROVIDERS = ['google', 'github'] as const;

/** Column sizes of `users`, for whatever fills them (DTOs, OAuth profiles). */
export const USER_FIELD_LENGTHS = { email: 320, fullName: 200, oauthId: 255, avatarUrl: 2048 } as const;

/** At most `count` code points of `text` (a cut never splits a surrogate pair). */
export function firstCodePoints(text: string, count: number): string {
  return Array.from(text).slice(0, count).join('');
}
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];

@Entity({ tableName: 'users', repository: () => UsersRepository })
@Unique({ name: 'users_oauth_provider_oauth_id_unique', properties: ['oauthProvider', 'oauthId'] })
export class User extends TimestampedEntity {
  [EntityRepositoryType]?: UsersRepository;

  /** Stored trimmed and lower-cased; the unique constraint is also the lookup index. */
  @Property({ type: 'string', length: USER_FIELD_LENGTHS.email })
  @Unique({ name: 'users_email_unique' })
  email!: string;

  /** argon2id hash; null for accounts that only sign in through OAuth. Never serialised. */
  @Property({ type: 'string', length: 255, nullable: true, hidden: true })
  hashedPassword: string | null = null;

  @Property({ type: 'string', length: USER_FIELD_LENGTHS.fullName })
  fullName!: string;

  @Enum({ items: () => [...OAUTH_PROVIDERS], nullable: true })
  oauthProvider: OAuthProvider | null = null;

  @Property({ type: 'string', length: USER_FIELD_LENGTHS.oauthId, nullable: true })
  oauthId: string | null = null;

  @Property({ type: 'string', length: USER_FIELD_LENGTHS.avatarUrl, nullable: true })
  avatarUrl: string | null = null;

  @Property({ type: 'boolean', default: true })
  @Index({ name: 'users_is_active_index' })
  isActive: Opt<boolean> = true;

  @Property({ type: 'boolean', default: false })
  isAdmin: Opt<boolean> = false;
}
