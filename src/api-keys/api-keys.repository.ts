import { EntityRepository } from '@mikro-orm/postgresql';
import { keysetWhere, Page, PageQuery, toPage } from '../common/pagination';
import { ApiKey } from './api-key.entity';

export interface NewApiKey {
  userId: string;
  keyHash: string;
  prefix: string;
  name: string;
  expiresAt: Date | null;
}

export class ApiKeysRepository extends EntityRepository<ApiKey> {
  findByHashWithUser(keyHash: string): Promise<ApiKey | null> {
    return this.findOne({ keyHash }, { populate: ['user'] });
  }

  findOwned(userId: string, id: string): Promise<ApiKey | null> {
    return this.findOne({ id, user: userId });
  }

  async listOwned(userId: string, page: PageQuery): Promise<Page<ApiKey>> {
    const rows = await this.find(
      { $and: [{ user: userId }, keysetWhere(page)] },
      {
        orderBy: { createdAt: 'desc', id: 'desc' },
        limit: page.limit + 1,
      },
    );
    return toPage(rows, page.limit);
  }

  /**
   * Inserts the key unless the user already holds `max` active, unexpired keys. A per-user advisory lock held
   * for the transaction makes the count and the insert one step, so concurrent requests cannot overshoot.
   * Returns null when the limit is reached.
   */
  async insertWithinLimit(data: NewApiKey, max: number, now: Date): Promise<ApiKey | null> {
    return this.getEntityManager().transactional(async (em) => {
      await em
        .getConnection()
        .execute(
          'select pg_advisory_xact_lock(hashtextextended(?, 0))',
          [`api_keys:${data.userId}`],
          'all',
          em.getTransactionContext(),
        );
      const active = await em.count(ApiKey, {
        user: data.userId,
        isActive: true,
        $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }],
      });
      if (active >= max) return null;
      const apiKey = em.create(ApiKey, {
        user: data.userId,
        keyHash: data.keyHash,
        prefix: data.prefix,
        name: data.name,
        expiresAt: data.expiresAt,
        createdAt: now,
      });
      await em.flush();
      return apiKey;
    });
  }

  async deactivate(id: string): Promise<void> {
    await this.nativeUpdate({ id }, { isActive: false });
  }

  /** Records use at most once per `resolutionMs` per key, whichever instance sees it first. */
  async touchLastUsed(id: string, now: Date, resolutionMs: number): Promise<void> {
    const staleBefore = new Date(now.getTime() - resolutionMs);
    await this.nativeUpdate(
      { id, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: staleBefore } }] },
      { lastUsedAt: now },
    );
  }
}
