import {
  EntityManager,
  EntityName,
  EntityRepository,
  FilterQuery,
  RequiredEntityData,
} from '@mikro-orm/postgresql';
import { keysetWhere, Page, PageQuery, toPage } from '../common/pagination';
import type { PredictionStatus } from './prediction.entity';
import { Prediction } from './prediction.entity';
import { PredictionWriter } from './prediction-writer';

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
  private readonly groupCommit = new PredictionWriter((items) => this.insertBatch(items));

  /**
   * The one place a prediction is written: `insert` stores a new one (any status), `complete` moves a queued
   * one from pending to its outcome (and only if it is still pending). Each write runs in a transaction on an
   * explicit handle `tx`, so that rows other modules add for the same event (the webhooks outbox:
   * `prediction.success` / `prediction.failed`) commit or roll back with it; concurrent inserts share one
   * transaction (group commit, see PredictionWriter) and each resolves once it is committed. `prediction.model` is the loaded
   * model (its owner is `prediction.model.user.id`) — nothing here loads it again. Returns false when
   * `complete` found the row no longer pending (already run, or deleted with its model).
   */
  async write(
    prediction: Prediction,
    kind: 'insert' | 'complete',
    /** Extra writes in the same transaction, once the prediction row is written (the webhooks outbox). */
    alongside?: (tx: EntityManager) => Promise<void>,
  ): Promise<boolean> {
    if (kind === 'insert') {
      // Answered only once the batch holding this row (and its alongside writes) has committed.
      await this.groupCommit.insert(prediction, alongside);
      return true;
    }
    return this.getEntityManager().transactional(async (tx) => {
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
      if (updated > 0) await alongside?.(tx);
      return updated > 0;
    });
  }

  /**
   * A queued prediction with its model (for the worker); null when it is gone or no longer pending. Not
   * managed (no identity map): the worker changes it and `write` stores it, so a flush must not write it again.
   */
  findPending(id: string): Promise<Prediction | null> {
    return this.findOne({ id, status: 'pending' }, { populate: ['model'], disableIdentityMap: true });
  }

  /**
   * Group commit (see PredictionWriter): new predictions inserted with one multi-row INSERT, then each one's
   * `alongside` writes (its webhook outbox row), all in one transaction on a fresh fork (no unit of work).
   */
  async insertBatch(
    items: Array<{ prediction: Prediction; alongside?: (tx: EntityManager) => Promise<void> }>,
  ): Promise<void> {
    await this.getEntityManager()
      .fork()
      .transactional(async (tx) => {
        await tx.insertMany(
          Prediction,
          items.map(({ prediction }) => ({
            id: prediction.id,
            model: prediction.model.id,
            user: prediction.user.id,
            inputData: prediction.inputData,
            outputData: prediction.outputData,
            inferenceTimeMs: prediction.inferenceTimeMs,
            status: prediction.status,
            errorMessage: prediction.errorMessage,
            createdAt: prediction.createdAt,
          })),
        );
        if (items.length === 1) {
          await items[0].alongside?.(tx);
          return;
        }
        // Each row's alongside writes (its outbox row) are gathered and inserted with one multi-row INSERT per
        // entity, still in this transaction; see deferInserts.
        const deferred = deferInserts(tx);
        for (const { alongside } of items) await alongside?.(deferred.em);
        await deferred.flush();
      });
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

/**
 * A view of `tx` whose `insert(entityName, data)` only records the row; `flush()` then writes the recorded rows
 * with one `insertMany` per entity. Everything else goes straight to `tx`. The alongside writers of a batch only
 * insert (the outbox); one that needed to read its own row back would have to run on `tx` itself.
 */
function deferInserts(tx: EntityManager): { em: EntityManager; flush: () => Promise<void> } {
  const rows = new Map<EntityName<object>, Array<RequiredEntityData<object>>>();
  const insert = async (
    entityName: EntityName<object>,
    data?: RequiredEntityData<object>,
  ): Promise<unknown> => {
    if (data === undefined) return tx.insert(entityName as never);
    let list = rows.get(entityName);
    if (!list) rows.set(entityName, (list = []));
    list.push(data);
    return (data as { id?: unknown }).id;
  };
  const em = new Proxy(tx, {
    get(target, prop) {
      if (prop === 'insert') return insert;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    em,
    flush: async () => {
      for (const [entityName, list] of rows) await tx.insertMany(entityName, list);
    },
  };
}
