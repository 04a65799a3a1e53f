import { EntityRepository } from '@mikro-orm/postgresql';
import { keysetWhere, PageQuery, toPage, type Page } from '../common/pagination';
import type { WebhookDelivery } from './webhook-delivery.entity';

const marks = (values: unknown[]) => values.map(() => '?').join(', ');

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
   * Outbox stage 1 (Postgres only; call inside a transaction): locks up to `limit` unrelayed events (skipping rows
   * another process holds), makes one pending delivery per matching active webhook — the owner's, unfiltered or
   * filtered on the event's model — and marks the events relayed. Returns how many events it took.
   */
  async fanOutEvents(limit: number): Promise<number> {
    const em = this.getEntityManager();
    const events = await em.execute<{ id: string }[]>(
      `select id from webhook_events where relayed_at is null order by created_at limit ? for update skip locked`,
      [limit],
    );
    if (events.length === 0) return 0;
    const ids = events.map((e) => e.id);
    await em.execute(
      `insert into webhook_deliveries (webhook_id, event_id, event_type, payload, max_attempts)
       select w.id, e.id, e.type, e.payload, w.max_retries + 1
         from webhook_events e
         join webhooks w on w.user_id = e.user_id and w.is_active and e.type = any(w.events)
                        and (w.model_id is null or w.model_id = e.model_id)
        where e.id in (${marks(ids)})
        order by e.created_at`,
      ids,
    );
    await em.execute(`update webhook_events set relayed_at = now() where id in (${marks(ids)})`, ids);
    return ids.length;
  }

  /** Outbox stage 2 (inside a transaction): pending deliveries not yet in the queue, locked for this process. */
  claimUnqueued(limit: number): Promise<{ id: string; max_attempts: number }[]> {
    return this.getEntityManager().execute(
      `select id, max_attempts from webhook_deliveries where queued_at is null and status = 'pending'
        order by created_at limit ? for update skip locked`,
      [limit],
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

  async markQueued(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.getEntityManager().execute(
      `update webhook_deliveries set queued_at = now() where id in (${marks(ids)})`,
      ids,
    );
  }
}
