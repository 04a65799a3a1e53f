import { EntityRepository, FilterQuery } from '@mikro-orm/postgresql';
import { keysetWhere, Page, PageQuery, toPage } from '../common/pagination';
import type { PredictionStatus } from './prediction.entity';
import { Prediction } from './prediction.entity';
import { WebhookEvent } from '../events/webhook-event.entity';
import {
  EVENT_COLUMNS,
  eventArrays,
  eventsFromArrays,
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

/** The INSERT of a group commit whose rows come as one array per column, $1–$9 (see `groupCommitStatement`). */
const INSERT_FROM_ARRAYS =
  `insert into predictions (${PREDICTION_COLUMNS}) select * from unnest(` +
  '$1::uuid[], $2::uuid[], $3::uuid[], $4::json[], $5::jsonb[], $6::int[], $7::text[], $8::text[], $9::timestamptz[])';

/**
 * An input longer than this goes as a parameter of its own rather than as an element of an array: `pg` escapes
 * every array element in JavaScript and Postgres parses the array literal again, which for genre14's 1 MB batches
 * cost more (~13 % more CPU per request) than the parsing and planning a prepared statement saves.
 */
const ARRAY_INPUT_MAX_CHARS = 16 * 1024;

interface Statement {
  /** Set when the text is the same for any batch, so that `pg` prepares it once per connection. */
  name?: string;
  text: string;
  values: unknown[];
}

/**
 * The group commit's statement: its rows (`columns`, one array per column) inserted, then their events (if any)
 * fanned out into deliveries, claimed or not. Rows with ordinary inputs go as arrays (`unnest`), so the text
 * does not depend on the batch's size and is prepared once per connection instead of parsed and planned for
 * every batch; a batch holding a large input goes as VALUES rows with a parameter per value.
 */
function groupCommitStatement(columns: unknown[][], events: OutboxRow[]): Statement {
  const inputs = columns[3] as string[];
  const asArrays = inputs.every((input) => input.length <= ARRAY_INPUT_MAX_CHARS);
  const values: unknown[] = asArrays ? [...columns] : [];
  let insert = INSERT_FROM_ARRAYS;
  if (!asArrays) {
    const rows = inputs.map((_, row) => {
      const first = values.length;
      for (const column of columns) values.push(column[row]);
      const [id, model, user, input, output, time, status, error, at] = columns.map(
        (_c, i) => `$${first + i + 1}`,
      );
      return `(${id}::uuid, ${model}::uuid, ${user}::uuid, ${input}::json, ${output}::jsonb, ${time}::int, ${status}, ${error}, ${at}::timestamptz)`;
    });
    insert = `insert into predictions (${PREDICTION_COLUMNS}) values ${rows.join(', ')}`;
  }
  if (events.length === 0)
    return { name: asArrays ? 'predictions.group-commit' : undefined, text: insert, values };
  const claim = events.every((event) => event.claim);
  const first = values.length + 1;
  values.push(...eventArrays(events));
  return {
    name: asArrays ? `predictions.group-commit.events${claim ? '.claimed' : ''}` : undefined,
    text:
      `with written as (${insert}), events ${EVENT_COLUMNS} as (${eventsFromArrays(first)}) ` +
      fanOutDeliveries('events', { claim }),
    values,
  };
}

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
   * Group commit (see PredictionWriter): the batch's predictions and their events in ONE statement
   * (`groupCommitStatement`) — an INSERT into predictions in a CTE, then the events' fan-out into pending webhook deliveries (`fanOutDeliveries`:
   * the outbox relay's stage 1, done here so an event costs no outbox row, no relay pass and no update), made
   * already claimed for the queue and returned per item — so it is atomic without BEGIN/COMMIT round trips, and
   * costs one round trip however many rows it holds. Plain SQL: the rows
   * are fully formed here, and the ORM's unit of work, entity mapping and query builder would cost more than the
   * database does per row.
   */
  async insertBatch(items: Array<BatchItem<OutboxRow>>): Promise<ClaimedDelivery[][]> {
    const columns: unknown[][] = [[], [], [], [], [], [], [], [], []];
    for (const { prediction: p } of items) {
      columns[0].push(p.id);
      columns[1].push(p.model.id);
      columns[2].push(p.user.id);
      columns[3].push(inputJson(p.inputData));
      columns[4].push(
        p.outputData === null || p.outputData === undefined ? null : JSON.stringify(p.outputData),
      );
      columns[5].push(p.inferenceTimeMs);
      columns[6].push(p.status);
      columns[7].push(p.errorMessage);
      columns[8].push(p.createdAt.toISOString());
    }
    const { name, text, values } = groupCommitStatement(
      columns,
      items.flatMap(({ extra }) => (extra ? [extra] : [])),
    );
    // Through `pg` directly: MikroORM's `execute` would inline and escape every value of the batch in JavaScript.
    const made = await queryOnPool<ClaimedDelivery & { eventId: string }>(
      this.getEntityManager(),
      text,
      values,
      name,
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
