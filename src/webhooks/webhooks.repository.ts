import { EntityRepository } from '@mikro-orm/postgresql';
import { keysetWhere, PageQuery, toPage, type Page } from '../common/pagination';
import { queryOnPool } from '../database/pooled-sql';
import type { Webhook } from './webhook.entity';

export class WebhooksRepository extends EntityRepository<Webhook> {
  /** The caller's webhook, or null (someone else's webhook is as good as missing). */
  findOwned(userId: string, id: string): Promise<Webhook | null> {
    return this.findOne({ id, user: userId });
  }

  async listOwned(userId: string, page: PageQuery): Promise<Page<Webhook>> {
    const rows = await this.find(
      { user: userId, ...keysetWhere(page) },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: page.limit + 1 },
    );
    return toPage(rows, page.limit);
  }

  /**
   * One attempt was made: stamp last_triggered_at, count a retry when it was not the first attempt, and when it
   * succeeded reset the run of failed events — one statement per attempt. A first attempt that succeeded on a
   * webhook with no failures, stamped within the last second, changes nothing but that stamp and is not written:
   * under a stream of events every delivery would otherwise update (and wait for the lock on) the same row.
   */
  async recordAttempt(id: string, isRetry: boolean, succeeded: boolean): Promise<void> {
    await queryOnPool(
      this.getEntityManager(),
      `update webhooks set last_triggered_at = now(), retry_count = retry_count + $2,
         consecutive_failures = case when $3 then 0 else consecutive_failures end
       where id = $1
         and not ($3 and $2 = 0 and consecutive_failures = 0
                  and coalesce(last_triggered_at > now() - interval '1 second', false))`,
      [id, isRetry ? 1 : 0, succeeded],
    );
  }

  /**
   * One more event failed for good. Atomically counts it and, at the threshold, disables the webhook with a reason.
   * Returns the new count.
   */
  async recordFailedEvent(id: string, threshold: number, reason: string): Promise<number> {
    const rows = await this.getEntityManager().execute<{ consecutive_failures: number }[]>(
      `update webhooks set consecutive_failures = consecutive_failures + 1,
         is_active = case when consecutive_failures + 1 >= ? then false else is_active end,
         disabled_reason = case when consecutive_failures + 1 >= ? and is_active then ? else disabled_reason end,
         disabled_at = case when consecutive_failures + 1 >= ? and is_active then now() else disabled_at end
       where id = ? returning consecutive_failures`,
      [threshold, threshold, reason, threshold, id],
    );
    return rows[0]?.consecutive_failures ?? 0;
  }

  async disable(id: string, reason: string): Promise<void> {
    await this.getEntityManager().execute(
      'update webhooks set is_active = false, disabled_reason = ?, disabled_at = now() where id = ? and is_active',
      [reason, id],
    );
  }
}
