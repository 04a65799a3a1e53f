import { EntityRepository } from '@mikro-orm/postgresql';
import { keysetWhere, PageQuery, toPage, type Page } from '../common/pagination';
import { queryOnPool } from '../database/pooled-sql';
import type { ClaimedDelivery } from '../events/outbox-signal';
import { fanOutDeliveries } from '../events/webhook-events.service';
import type { WebhookDelivery } from './webhook-delivery.entity';

export class WebhookDeliveriesRepository extends EntityRepository<WebhookDelivery> {
  async listForWebhook(webhookId: string, page: PageQuery): Promise<Page<WebhookDelivery>> {
    const rows = await this.find(
      { webhook: webhookId, ...keysetWhere(page) },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: page.limit + 1 },
    );
    return toPage(rows, page.limit);
  }

  findForWebhook(webhookId: string, id: string): Promise<WebhookDelivery | null> {
    return this.findOne({ id, webhook: webhookId });
  }

  findWithWebhook(id: string): Promise<WebhookDelivery | null> {
    return this.findOne({ id }, { populate: ['webhook'], refresh: true });
  }

  /**
   * Outbox stage 1 (Postgres only), as ONE statement, so it is atomic without a transaction of its own: locks up to
   * `limit` unrelayed events (skipping rows another process holds), makes one pending delivery per matching active
   * webhook — the owner's, unfiltered or filtered on the event's model — and marks the events relayed. Returns how
   * many events it took.
   */
  async fanOutEvents(limit: number): Promise<number> {
    const [row] = await queryOnPool<{ events: number }>(
      this.getEntityManager(),
      `with taken as (
         select id, created_at, type, user_id, model_id, payload from webhook_events
          where relayed_at is null order by created_at limit $1 for update skip locked),
       delivered as (${fanOutDeliveries('taken')} returning 1),
       relayed as (
         update webhook_events set relayed_at = now() from taken where webhook_events.id = taken.id returning 1)
       select (select count(*) from relayed)::int as events`,
      [limit],
    );
    return row.events;
  }

  /**
   * Outbox stage 2, claim: takes up to `limit` pending deliveries that are not in the queue yet (skipping rows
   * another process holds) and marks them queued, in one statement. The caller then adds their jobs, and hands
   * back with `unqueue` those it could not add. Should the process die in between, the rows look queued with no
   * sign of life and `requeueStale` hands them back.
   */
  async claimUnqueued(limit: number): Promise<ClaimedDelivery[]> {
    const rows = await queryOnPool<{ id: string; max_attempts: number }>(
      this.getEntityManager(),
      `update webhook_deliveries d set queued_at = now()
         from (select id from webhook_deliveries where queued_at is null and status = 'pending'
                order by created_at limit $1 for update skip locked) claimed
        where d.id = claimed.id
        returning d.id, d.max_attempts`,
      [limit],
    );
    return rows.map((row) => ({ id: row.id, maxAttempts: row.max_attempts }));
  }

  /** Outbox stage 2, give back: claimed deliveries whose jobs could not be added, for the next run to queue. */
  async unqueue(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await queryOnPool(
      this.getEntityManager(),
      `update webhook_deliveries set queued_at = null where id = any($1::uuid[]) and status = 'pending'`,
      [ids],
    );
  }

  /**
   * Pending deliveries that were queued long ago and are not waiting for a retry: their job may have been lost
   * with Redis' data. Handing them back to stage 2 is safe — re-adding a job whose id Bull still holds is a no-op.
   */
  async requeueStale(olderThanMs: number): Promise<number> {
    const rows = await this.getEntityManager().execute<{ id: string }[]>(
      `update webhook_deliveries set queued_at = null
        where status = 'pending' and queued_at < now() - (? * interval '1 millisecond')
          and coalesce(next_attempt_at, queued_at) < now() - (? * interval '1 millisecond')
        returning id`,
      [olderThanMs, olderThanMs],
    );
    return rows.length;
  }

  /** Relayed outbox rows are only kept a while (the delivery rows hold the payloads). */
  async pruneRelayedEvents(olderThanMs: number): Promise<void> {
    await this.getEntityManager().execute(
      `delete from webhook_events where relayed_at < now() - (? * interval '1 millisecond')`,
      [olderThanMs],
    );
  }
}
