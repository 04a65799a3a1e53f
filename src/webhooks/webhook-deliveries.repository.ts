import { EntityRepository } from '@mikro-orm/postgresql';
import { keysetWhere, PageQuery, toPage, type Page } from '../common/pagination';
import { queryOnPool } from '../database/pooled-sql';
import { TurnBatcher } from '../common/turn-batcher';
import type { ClaimedDelivery } from '../events/outbox-signal';
import { fanOutDeliveries } from '../events/webhook-events.service';
import type { WebhookDelivery } from './webhook-delivery.entity';
import type { Webhook } from './webhook.entity';

/** What one attempt reads and writes of a delivery. */
export type AttemptDelivery = Pick<
  WebhookDelivery,
  | 'id'
  | 'eventId'
  | 'payload'
  | 'status'
  | 'attempts'
  | 'maxAttempts'
  | 'lastAttemptAt'
  | 'responseStatus'
  | 'responseBody'
  | 'durationMs'
  | 'error'
  | 'nextAttemptAt'
  | 'completedAt'
>;

/** What one attempt needs of the delivery's webhook. */
export type AttemptWebhook = Pick<
  Webhook,
  | 'id'
  | 'url'
  | 'secret'
  | 'previousSecret'
  | 'previousSecretExpiresAt'
  | 'headers'
  | 'timeoutSeconds'
  | 'isActive'
  | 'disabledReason'
>;

const WEBHOOK_PREFIX = 'webhook.';

/** The loaded columns that are timestamps (by their alias). */
const TIMESTAMPS = new Set([
  'lastAttemptAt',
  'nextAttemptAt',
  'completedAt',
  `${WEBHOOK_PREFIX}previousSecretExpiresAt`,
]);

/**
 * The outcomes of attempts are written together over this many milliseconds (see TurnBatcher): receivers answer a
 * few per event-loop turn, so per turn that was still a query for every two or three deliveries.
 */
export const OUTCOME_WINDOW_MS = 10;

/** A delivery and its webhook, loaded for one attempt. */
export interface LoadedAttempt {
  delivery: AttemptDelivery;
  webhook: AttemptWebhook;
  /** The delivery's `queued_at` as Postgres writes it (see ClaimedDelivery.queuedAt); null while unqueued. */
  claim?: string | null;
}

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

  /**
   * A delivery and its webhook for one queued attempt. Plain SQL, as `saveAttempt`: the queue consumer runs these
   * for every event, and MikroORM's fork, populate, unit of work and flush cost it about a millisecond of CPU per
   * delivery, which under a stream of predictions starved the deliveries. The attempts that start in the same
   * event-loop turn share one query (TurnBatcher).
   */
  loadForAttempt(id: string): Promise<LoadedAttempt | null> {
    return this.loads.call(id);
  }

  /**
   * Writes the outcome of an attempt (every field an attempt sets); the outcomes of OUTCOME_WINDOW_MS in one UPDATE.
   */
  saveAttempt(delivery: AttemptDelivery): Promise<void> {
    return this.saves.call(delivery);
  }

  private readonly loads = new TurnBatcher<string, LoadedAttempt | null>((ids) => this.loadMany(ids));
  private readonly saves = new TurnBatcher<AttemptDelivery, void>(
    async (deliveries) => {
      await this.saveMany(deliveries);
      return deliveries.map(() => undefined);
    },
    100,
    OUTCOME_WINDOW_MS,
  );

  private async loadMany(ids: string[]): Promise<Array<LoadedAttempt | null>> {
    // The webhook's columns come back as "webhook.<field>" and are split off by that prefix. The deliveries are found
    // by primary key first (the materialized CTE): joined as one query, the planner may instead intersect the ids with
    // every delivery of the webhook (a bitmap of its whole history) when its statistics are stale or the webhook hot.
    const rows = await queryOnPool<Record<string, unknown>>(
      this.getEntityManager(),
      `with d as materialized (select * from webhook_deliveries where id = any($1::uuid[]))
       select d.id, d.event_id as "eventId", d.payload, d.status, d.attempts, d.max_attempts as "maxAttempts",
              d.last_attempt_at as "lastAttemptAt", d.response_status as "responseStatus",
              d.response_body as "responseBody", d.duration_ms as "durationMs", d.error,
              d.next_attempt_at as "nextAttemptAt", d.completed_at as "completedAt", d.queued_at as "queuedAt",
              w.id as "webhook.id", w.url as "webhook.url", w.secret as "webhook.secret",
              w.previous_secret as "webhook.previousSecret",
              w.previous_secret_expires_at as "webhook.previousSecretExpiresAt", w.headers as "webhook.headers",
              w.timeout_seconds as "webhook.timeoutSeconds", w.is_active as "webhook.isActive",
              w.disabled_reason as "webhook.disabledReason"
         from d join webhooks w on w.id = d.webhook_id`,
      [ids],
    );
    const byId = new Map<string, Record<string, unknown>>(rows.map((row) => [row.id as string, row]));
    // Each caller gets objects of its own: two jobs of one delivery in the same turn must not share them.
    return ids.map((id) => {
      const row = byId.get(id);
      if (!row) return null;
      const delivery: Record<string, unknown> = {};
      const webhook: Record<string, unknown> = {};
      const { queuedAt: claim, ...columns } = row;
      for (const [key, raw] of Object.entries(columns)) {
        // MikroORM has `pg` hand timestamps back as text; the attempt compares and stores them as Dates.
        const value = TIMESTAMPS.has(key) && typeof raw === 'string' ? new Date(raw) : raw;
        if (key.startsWith(WEBHOOK_PREFIX)) webhook[key.slice(WEBHOOK_PREFIX.length)] = value;
        else delivery[key] = value;
      }
      return {
        delivery: delivery as AttemptDelivery,
        webhook: webhook as AttemptWebhook,
        claim: (claim as string | null) ?? null,
      };
    });
  }

  /**
   * One UPDATE from one array per column; for a delivery given twice, the later outcome is the one written.
   * Planned at every run rather than prepared, as `loadMany` is: a generic plan made while the table was small (a
   * hash join over a sequential scan) would be kept as the table grows, until the next ANALYZE. A batch of
   * deliveries pays for its planning (≈0.2 ms) once.
   */
  private async saveMany(deliveries: AttemptDelivery[]): Promise<void> {
    const latest = [...new Map(deliveries.map((d) => [d.id, d])).values()];
    const columns: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
    for (const d of latest) {
      columns[0].push(d.id);
      columns[1].push(d.status);
      columns[2].push(d.attempts);
      columns[3].push(d.lastAttemptAt?.toISOString() ?? null);
      columns[4].push(d.responseStatus);
      columns[5].push(d.responseBody);
      columns[6].push(d.durationMs);
      columns[7].push(d.error);
      columns[8].push(d.nextAttemptAt?.toISOString() ?? null);
      columns[9].push(d.completedAt?.toISOString() ?? null);
    }
    await queryOnPool(
      this.getEntityManager(),
      `update webhook_deliveries d
          set status = v.status, attempts = v.attempts, last_attempt_at = v.last_attempt_at,
              response_status = v.response_status, response_body = v.response_body, duration_ms = v.duration_ms,
              error = v.error, next_attempt_at = v.next_attempt_at, completed_at = v.completed_at, updated_at = now()
         from unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::int[], $6::text[], $7::int[],
                     $8::text[], $9::timestamptz[], $10::timestamptz[])
              as v(id, status, attempts, last_attempt_at, response_status, response_body, duration_ms, error,
                   next_attempt_at, completed_at)
        where d.id = v.id`,
      columns,
    );
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
  claimUnqueued(limit: number): Promise<ClaimedDelivery[]> {
    return queryOnPool<ClaimedDelivery>(
      this.getEntityManager(),
      `update webhook_deliveries d set queued_at = now()
         from (select id from webhook_deliveries where queued_at is null and status = 'pending'
                order by created_at limit $1 for update skip locked) claimed
        where d.id = claimed.id
        returning d.id, d.queued_at as "queuedAt"`,
      [limit],
    );
  }

  /**
   * Takes a delivery over from the job that carries it: a new claim, only if `claim` is still the row's (else null:
   * it was handed back or claimed again meanwhile). A copy of that job run again then finds the claim moved and
   * leaves the delivery alone, and the stale sweep's clock starts again.
   */
  async moveClaim(id: string, claim: string | null): Promise<string | null> {
    const [row] = await queryOnPool<{ claim: string }>(
      this.getEntityManager(),
      `update webhook_deliveries set queued_at = clock_timestamp()
        where id = $1 and status = 'pending' and queued_at is not distinct from $2::timestamptz
        returning queued_at as claim`,
      [id, claim],
    );
    return row?.claim ?? null;
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
   * with Redis' data. Handing them back to stage 2 may give a delivery whose job still waits (no consumer ran for
   * that long) a second job; the first job's claim is then no longer the row's, so it leaves the delivery alone.
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
