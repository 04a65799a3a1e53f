import { EntityRepository, FilterQuery } from '@mikro-orm/postgresql';
import { keysetWhere, Page, PageQuery, toPage } from '../common/pagination';
import type { PredictionStatus } from './prediction.entity';
import { Prediction } from './prediction.entity';
import { WebhookEvent } from '../events/webhook-event.entity';
import {
  EVENT_COLUMNS,
  eventValues,
  fanOutDeliveries,
  outboxEntity,
  OutboxRow,
} from '../events/webhook-events.service';
import { queryOnPool } from '../database/pooled-sql';
import type { ClaimedDelivery } from '../events/outbox-signal';
import { inputJson } from './input-json';
import { BatchItem, PredictionWriter } from './prediction-writer';

const PREDICTION_COLUMNS =
  'id, model_id, user_id, input_data, output_data, inference_time_ms, status, error_message, created_at';

export interface PredictionFilter {
  userId?: string;
  modelId?: string;
  status?: PredictionStatus;
  /** created_at >= from */
  from?: Date;
  /** created_at < to */
  to?: Date;
}

export class PredictionsRepository extends EntityRepository<Prediction> {
  /** Group commit of new rows (one per process: the repository provider is a singleton). */
  private readonly groupCommit = new PredictionWriter<OutboxRow, ClaimedDelivery[]>((items) =>
    this.insertBatch(items),
  );

  /**
   * The one place a prediction is written: `insert` stores a new one (any status), `complete` moves a queued
   * one from pending to its outcome (and only if it is still pending). `event` is the
   * `prediction.success` / `prediction.failed` event (WebhookEventsService.toRow): it commits or rolls back with
   * the prediction (`insert`: as its webhook deliveries, fanned out in the same statement; `complete`: as an
   * outbox row for the relay). Concurrent inserts share one statement (group commit, see PredictionWriter) and each resolves
   * once it is committed. `prediction.model` is the loaded model — nothing here loads it again. `written` is false
   * when `complete` found the row no longer pending (already run, or deleted with its model); `claimed` are the
   * deliveries `insert` made already marked queued, whose jobs the relay is to add (WebhookEventsService.committed).
   */
  async write(
    prediction: Prediction,
    kind: 'insert' | 'complete',
    event?: OutboxRow,
  ): Promise<{ written: boolean; claimed: ClaimedDelivery[] }> {
    if (kind === 'insert') {
      // Answered only once the statement holding this row (and its deliveries) has committed.
      const claimed = await this.groupCommit.insert(prediction, event);
      return { written: true, claimed: claimed ?? [] };
    }
    const written = await this.getEntityManager().transactional(async (tx) => {
      const updated = await tx.nativeUpdate(
        Prediction,
        { id: prediction.id, status: 'pending' },
        {
          outputData: prediction.outputData,
          inferenceTimeMs: prediction.inferenceTimeMs,
          status: prediction.status,
          errorMessage: prediction.errorMessage,
        },
      );
      if (updated > 0 && event) await tx.insert(WebhookEvent, outboxEntity(event));
      return updated > 0;
    });
    return { written, claimed: [] };
  }

  /**
   * A queued prediction with its model (for the worker); null when it is gone or no longer pending. Not
   * managed (no identity map): the worker changes it and `write` stores it, so a flush must not write it again.
   */
  findPending(id: string): Promise<Prediction | null> {
    return this.findOne({ id, status: 'pending' }, { populate: ['model'], disableIdentityMap: true });
  }

  /**
   * Group commit (see PredictionWriter): the batch's predictions and their events in ONE statement — a multi-row
   * INSERT into predictions in a CTE, then the events' fan-out into pending webhook deliveries (`fanOutDeliveries`:
   * the outbox relay's stage 1, done here so an event costs no outbox row, no relay pass and no update), made
   * already claimed for the queue and returned per item — so it is atomic without BEGIN/COMMIT round trips, and
   * costs one round trip however many rows it holds. Plain SQL: the rows
   * are fully formed here, and the ORM's unit of work, entity mapping and query builder would cost more than the
   * database does per row.
   */
  async insertBatch(items: Array<BatchItem<OutboxRow>>): Promise<ClaimedDelivery[][]> {
    const values: unknown[] = [];
    const rows: string[] = [];
    const events: string[] = [];
    for (const { prediction: p } of items) {
      const n = values.length;
      values.push(
        p.id,
        p.model.id,
        p.user.id,
        inputJson(p.inputData),
        p.outputData === null || p.outputData === undefined ? null : JSON.stringify(p.outputData),
        p.inferenceTimeMs,
        p.status,
        p.errorMessage,
        p.createdAt.toISOString(),
      );
      rows.push(
        `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}::json, $${n + 5}::jsonb, $${n + 6}, $${n + 7}, $${n + 8}, $${n + 9})`,
      );
    }
    for (const { extra } of items) if (extra) events.push(eventValues(extra, values));
    const insertPredictions = `insert into predictions (${PREDICTION_COLUMNS}) values ${rows.join(', ')}`;
    const text =
      events.length === 0
        ? insertPredictions
        : `with written as (${insertPredictions}), events ${EVENT_COLUMNS} as (values ${events.join(', ')}) ` +
          fanOutDeliveries('events', { claim: items.every((item) => !item.extra || item.extra.claim) });
    // Through `pg` directly: MikroORM's `execute` would inline and escape every value of the batch in JavaScript.
    const made = await queryOnPool<ClaimedDelivery & { eventId: string }>(
      this.getEntityManager(),
      text,
      values,
    );
    const byEvent = new Map<string, ClaimedDelivery[]>();
    for (const { eventId, ...delivery } of made) {
      const list = byEvent.get(eventId) ?? [];
      list.push(delivery);
      byEvent.set(eventId, list);
    }
    return items.map(({ extra }) => (extra && byEvent.get(extra.id)) || []);
  }

  /** A prediction the viewer made, or one on a model the viewer owns; any prediction for an admin. */
  findVisible(id: string, viewer: { userId: string; isAdmin: boolean }): Promise<Prediction | null> {
    if (viewer.isAdmin) return this.findOne({ id });
    return this.findOne({ id, $or: [{ user: viewer.userId }, { model: { user: viewer.userId } }] });
  }

  /** Newest first, keyset-paginated on (created_at, id); the (user|model, created_at, id) indexes serve it. */
  async list(filter: PredictionFilter, page: PageQuery): Promise<Page<Prediction>> {
    const where: FilterQuery<Prediction> = {};
    if (filter.userId !== undefined) where.user = filter.userId;
    if (filter.modelId !== undefined) where.model = filter.modelId;
    if (filter.status !== undefined) where.status = filter.status;
    if (filter.from || filter.to) {
      where.createdAt = { ...(filter.from && { $gte: filter.from }), ...(filter.to && { $lt: filter.to }) };
    }
    const rows = await this.find(
      { $and: [where, keysetWhere(page)] },
      {
        orderBy: { createdAt: 'desc', id: 'desc' },
        limit: page.limit + 1,
      },
    );
    return toPage(rows, page.limit);
  }
}
