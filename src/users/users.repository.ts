import { EntityRepository, FilterQuery } from '@mikro-orm/postgresql';
import { Page, PageQuery, keysetWhere, toPage } from '../common/pagination';
import type { User } from './user.entity';

export interface UserFilter {
  email?: string;
  isActive?: boolean;
  isAdmin?: boolean;
}

export class UsersRepository extends EntityRepository<User> {
  async save(user: User): Promise<User> {
    await this.getEntityManager().persistAndFlush(user);
    return user;
  }

  /**
   * Runs `work` in a transaction holding a lock on every active admin row, so two concurrent demotions
   * cannot both see "another admin is left".
   */
  async withAdminsLocked<T>(work: (activeAdminIds: string[]) => Promise<T>): Promise<T> {
    return this.getEntityManager().transactional(async (em) => {
      const rows = await em
        .getConnection()
        .execute<{ id: string }[]>(
          'select id from users where is_admin and is_active for update',
          [],
          'all',
          em.getTransactionContext(),
        );
      return work(rows.map((r) => r.id));
    });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.findOne({ email });
  }

  findByOAuth(provider: string, oauthId: string): Promise<User | null> {
    return this.findOne({ oauthProvider: provider as User['oauthProvider'], oauthId });
  }

  async list(filter: UserFilter, page: PageQuery): Promise<Page<User>> {
    const where: FilterQuery<User> = {};
    if (filter.email !== undefined) where.email = { $ilike: `%${escapeLike(filter.email)}%` };
    if (filter.isActive !== undefined) where.isActive = filter.isActive;
    if (filter.isAdmin !== undefined) where.isAdmin = filter.isAdmin;
    const rows = await this.find(
      { $and: [where, keysetWhere(page)] },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: page.limit + 1 },
    );
    return toPage(rows, page.limit);
  }

  countActiveAdmins(): Promise<number> {
    return this.count({ isAdmin: true, isActive: true });
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
