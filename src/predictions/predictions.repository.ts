import { EntityManager, EntityRepository, FilterQuery } from '@mikro-orm/postgresql';
import { Page, PageQuery, keysetWhere, toPage } from '../common/pagination';
import type { PredictionStatus } from './prediction.entity';
import { Prediction } from './prediction.entity';

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
  /**
   * The one place a prediction is written: `insert` stores a new one (any status), `complete` moves a queued
   * one from pending to its outcome (and only if it is still pending). Each write is one transaction on an
   * explicit handle `tx`, so that rows other modules add for the same event (the webhooks outbox:
   * `prediction.success` / `prediction.failed`) commit or roll back with it. `prediction.model` is the loaded
   * model (its owner is `prediction.model.user.id`) — nothing here loads it again. Returns false when
   * `complete` found the row no longer pending (already run, or deleted with its model).
   */
  async write(
    prediction: Prediction,
    kind: 'insert' | 'complete',
    /** Extra writes in the same transaction, once the prediction row is written (the webhooks outbox). */
    alongside?: (tx: EntityManager) => Promise<void>,
  ): Promise<boolean> {
    return this.getEntityManager().transactional(async (tx) => {
      if (kind === 'insert') {
        await tx.insert(Prediction, {
          id: prediction.id,
          model: prediction.model.id,
          user: prediction.user.id,
          inputData: prediction.inputData,
          outputData: prediction.outputData,
          inferenceTimeMs: prediction.inferenceTimeMs,
          status: prediction.status,
          errorMessage: prediction.errorMessage,
          createdAt: prediction.createdAt,
        });
        await alongside?.(tx);
        return true;
      }
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
