import { EntityRepository } from '@mikro-orm/postgresql';
import { keysetWhere, PageQuery, toPage, type Page } from '../common/pagination';
import { TurnBatcher } from '../common/turn-batcher';
import { queryOnPool } from '../database/pooled-sql';
import { OUTCOME_WINDOW_MS } from './webhook-deliveries.repository';
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
   * succeeded reset the run of failed events. A first attempt that succeeded on a webhook with no failures, stamped
   * within the last second, changes nothing but that stamp and is not written: under a stream of events every
   * delivery would otherwise update (and wait for the lock on) the same row. The attempts of OUTCOME_WINDOW_MS
   * are written together, one row per webhook: their retries summed, the run reset if any of them succeeded (this
   * statement never adds to the run, so the order within the turn does not matter).
   */
  recordAttempt(id: string, isRetry: boolean, succeeded: boolean): Promise<void> {
    return this.attempts.call({ id, isRetry, succeeded });
  }

  private readonly attempts = new TurnBatcher<{ id: string; isRetry: boolean; succeeded: boolean }, void>(
    async (attempts) => {
      const byWebhook = new Map<string, { retries: number; succeeded: boolean }>();
      for (const { id, isRetry, succeeded } of attempts) {
        const seen = byWebhook.get(id) ?? { retries: 0, succeeded: false };
        seen.retries += isRetry ? 1 : 0;
        seen.succeeded ||= succeeded;
        byWebhook.set(id, seen);
      }
      const rows = [...byWebhook];
      await queryOnPool(
        this.getEntityManager(),
        `update webhooks w set last_triggered_at = now(), retry_count = w.retry_count + v.retries,
           consecutive_failures = case when v.succeeded then 0 else w.consecutive_failures end
           from unnest($1::uuid[], $2::int[], $3::bool[]) as v(id, retries, succeeded)
          where w.id = v.id
            and not (v.succeeded and v.retries = 0 and w.consecutive_failures = 0
                     and coalesce(w.last_triggered_at > now() - interval '1 second', false))`,
        [rows.map(([id]) => id), rows.map(([, v]) => v.retries), rows.map(([, v]) => v.succeeded)],
      );
      return attempts.map(() => undefined);
    },
    100,
    OUTCOME_WINDOW_MS,
  );

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
