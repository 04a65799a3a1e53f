import { EntityManager, EntityRepository } from '@mikro-orm/postgresql';
import { keysetWhere, Page, PageQuery, toPage } from '../common/pagination';
import type { ModelStatus, ModelType } from '../models/model.entity';
import { ModelShare, SharePermission } from './model-share.entity';

/** A model family: every version with the same owner and name. */
export interface ModelFamily {
  ownerId: string;
  name: string;
}

export interface NewModelShare {
  modelId: string;
  ownerId: string;
  name: string;
  sharedWithUserId: string;
  permission: SharePermission;
}

export interface ReceivedShareRow {
  id: string;
  permission: SharePermission;
  createdAt: Date;
  updatedAt: Date;
  ownerId: string;
  ownerName: string;
  modelId: string;
  modelName: string;
  modelVersion: number;
  modelDescription: string | null;
  modelType: ModelType;
  modelStatus: ModelStatus;
}

interface RawReceivedShare {
  id: string;
  permission: SharePermission;
  created_at: Date;
  updated_at: Date;
  owner_id: string;
  owner_name: string;
  model_id: string;
  model_name: string;
  model_version: number;
  model_description: string | null;
  model_type: ModelType;
  model_status: ModelStatus;
}

export class ModelSharesRepository extends EntityRepository<ModelShare> {
  private familyWhere(family: ModelFamily): { owner: string; model: { name: string } } {
    return { owner: family.ownerId, model: { name: family.name } };
  }

  /**
   * Inserts the share unless the user already has one on any version of the family (null then). An advisory
   * lock on family + user makes the check and the insert one step; the unique (model, user) constraint backs it.
   */
  async insertUnlessShared(
    data: NewModelShare,
    /** Extra writes in the same transaction once the share exists (the webhooks outbox). */
    alongside?: (em: EntityManager, share: ModelShare) => Promise<void>,
  ): Promise<ModelShare | null> {
    return this.getEntityManager().transactional(async (em) => {
      const lockKey = `model_shares:${data.ownerId}:${data.sharedWithUserId}:${data.name}`;
      await em
        .getConnection()
        .execute(
          'select pg_advisory_xact_lock(hashtextextended(?, 0))',
          [lockKey],
          'all',
          em.getTransactionContext(),
        );
      const existing = await em.count(ModelShare, {
        ...this.familyWhere({ ownerId: data.ownerId, name: data.name }),
        sharedWithUser: data.sharedWithUserId,
      });
      if (existing > 0) return null;
      const share = em.create(ModelShare, {
        model: data.modelId,
        owner: data.ownerId,
        sharedWithUser: data.sharedWithUserId,
        permission: data.permission,
      });
      await em.flush();
      await alongside?.(em, share);
      return share;
    });
  }

  findInFamily(family: ModelFamily, shareId: string): Promise<ModelShare | null> {
    return this.findOne({ id: shareId, ...this.familyWhere(family) });
  }

  async listFamily(family: ModelFamily, page: PageQuery): Promise<Page<ModelShare>> {
    const rows = await this.find(
      { $and: [this.familyWhere(family), keysetWhere(page)] },
      {
        orderBy: { createdAt: 'desc', id: 'desc' },
        limit: page.limit + 1,
      },
    );
    return toPage(rows, page.limit);
  }

  async save(share: ModelShare): Promise<ModelShare> {
    await this.getEntityManager().persistAndFlush(share);
    return share;
  }

  async delete(share: ModelShare, alongside?: (em: EntityManager) => Promise<void>): Promise<void> {
    await this.getEntityManager().transactional(async (em) => {
      await em.nativeDelete(ModelShare, { id: share.id });
      await alongside?.(em);
    });
  }

  /**
   * Re-points the shares stored against one version to the newest other version of its family, so deleting
   * that version does not take the family's shares with it. Nothing to do when it is the last version (the
   * shares then go with it). Joins the caller's transaction.
   */
  async moveOffVersion(modelId: string, family: ModelFamily): Promise<number> {
    const em = this.getEntityManager();
    const [target] = await em.execute<Array<{ id: string }>>(
      'select id from models where user_id = ? and name = ? and id <> ? order by version desc limit 1',
      [family.ownerId, family.name, modelId],
    );
    if (!target) return 0;
    return this.nativeUpdate({ model: modelId }, { model: target.id });
  }

  /** Shares the user received, newest first, each with the newest version of the shared model's family. */
  async listReceived(userId: string, page: PageQuery): Promise<Page<ReceivedShareRow>> {
    const params: unknown[] = [userId];
    let keyset = '';
    if (page.after) {
      keyset = 'and (s.created_at < ? or (s.created_at = ? and s.id < ?))';
      params.push(page.after.createdAt, page.after.createdAt, page.after.id);
    }
    params.push(page.limit + 1);
    const rows = await this.getEntityManager()
      .getConnection()
      .execute<RawReceivedShare[]>(
        `select s.id, s.permission, s.created_at, s.updated_at, s.owner_id, o.full_name as owner_name,
              m.id as model_id, m.name as model_name, m.version as model_version, m.description as model_description,
              m.model_type, m.status as model_status
         from model_shares s
         join models sm on sm.id = s.model_id
         join users o on o.id = s.owner_id
         join lateral (
           select * from models v where v.user_id = s.owner_id and v.name = sm.name order by v.version desc limit 1
         ) m on true
        where s.shared_with_user_id = ? ${keyset}
        order by s.created_at desc, s.id desc
        limit ?`,
        params,
      );
    const mapped = rows.map((r): ReceivedShareRow => ({
      id: r.id,
      permission: r.permission,
      createdAt: new Date(r.created_at),
      updatedAt: new Date(r.updated_at),
      ownerId: r.owner_id,
      ownerName: r.owner_name,
      modelId: r.model_id,
      modelName: r.model_name,
      modelVersion: r.model_version,
      modelDescription: r.model_description,
      modelType: r.model_type,
      modelStatus: r.model_status,
    }));
    return toPage(mapped, page.limit);
  }
}
