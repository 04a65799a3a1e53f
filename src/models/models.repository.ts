import type { QBFilterQuery } from '@mikro-orm/core';
import { EntityManager, EntityRepository } from '@mikro-orm/postgresql';
import { keysetWhere, Page, PageQuery, toPage } from '../common/pagination';
import type { Model, ModelStatus, ModelType } from './model.entity';

export interface ModelListFilter {
  status?: ModelStatus;
  modelType?: ModelType;
  name?: string;
  /** true: only the caller's own; false: only shared with the caller; undefined: both. */
  owned?: boolean;
}

export interface NewModel {
  userId: string;
  name: string;
  version: number;
  modelType: ModelType;
  description: string | null;
  filePath: string;
  fileSize: number;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  modelMetadata: Record<string, unknown>;
  createdAt: Date;
}

/** A share of any version covers every version with the same owner and name (as in ModelAccessService). */
const SHARED_WITH = `exists (select 1 from model_shares s join models sm on sm.id = s.model_id
  where s.shared_with_user_id = ? and s.owner_id = m.user_id and sm.name = m.name)`;

export class ModelsRepository extends EntityRepository<Model> {
  /**
   * Runs `work` in one database transaction. Every call on this repository (and on any other repository or
   * EntityManager) inside it joins the transaction, so e.g. an outbox insert commits or rolls back with it.
   */
  transactional<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.getEntityManager().transactional(work);
  }

  /** Serialises version numbering of one owner's name until the transaction ends. Call inside `transactional`. */
  async lockName(userId: string, name: string): Promise<void> {
    await this.getEntityManager().execute('select pg_advisory_xact_lock(hashtext(?))', [
      `modelport:model-name:${userId}:${name}`,
    ]);
  }

  /** Serialises writing, referencing and removing one stored file. Call inside `transactional`. */
  async lockFile(filePath: string): Promise<void> {
    await this.getEntityManager().execute('select pg_advisory_xact_lock(hashtext(?))', [
      `modelport:model-file:${filePath}`,
    ]);
  }

  async latestVersion(userId: string, name: string): Promise<{ version: number; createdAt: Date } | null> {
    const rows = await this.getEntityManager().execute<Array<{ version: number; created_at: Date | string }>>(
      'select version, created_at from models where user_id = ? and name = ? order by version desc limit 1',
      [userId, name],
    );
    const row = rows[0];
    return row ? { version: Number(row.version), createdAt: new Date(row.created_at) } : null;
  }

  /** Inserts a model row now (not at the end of the transaction), so constraint errors surface here. */
  async insertModel(data: NewModel): Promise<Model> {
    const { userId, ...rest } = data;
    const model = this.create({ ...rest, user: userId, status: 'active' });
    await this.getEntityManager().persistAndFlush(model);
    return model;
  }

  async save(model: Model): Promise<Model> {
    await this.getEntityManager().persistAndFlush(model);
    return model;
  }

  async deleteById(id: string): Promise<void> {
    await this.nativeDelete({ id });
  }

  countByFilePath(filePath: string): Promise<number> {
    return this.count({ filePath });
  }

  /** The caller's models and those shared with them, newest first. */
  async listAccessible(userId: string, filter: ModelListFilter, page: PageQuery): Promise<Page<Model>> {
    const qb = this.createQueryBuilder('m').select('*');
    if (filter.owned === true) qb.where('m.user_id = ?', [userId]);
    else if (filter.owned === false) qb.where(`m.user_id <> ? and ${SHARED_WITH}`, [userId, userId]);
    else qb.where(`(m.user_id = ? or ${SHARED_WITH})`, [userId, userId]);
    const where: QBFilterQuery<Model> = {};
    if (filter.status !== undefined) where.status = filter.status;
    if (filter.modelType !== undefined) where.modelType = filter.modelType;
    if (filter.name !== undefined) where.name = filter.name;
    qb.andWhere(where);
    const keyset = keysetWhere(page);
    if (Object.keys(keyset).length > 0) qb.andWhere(keyset as QBFilterQuery<Model>);
    qb.orderBy({ createdAt: 'desc', id: 'desc' }).limit(page.limit + 1);
    return toPage(await qb.getResultList(), page.limit);
  }

  /** Every version of one owner's name, newest first. */
  async listVersions(userId: string, name: string, page: PageQuery): Promise<Page<Model>> {
    const rows = await this.find(
      { $and: [{ user: userId, name }, keysetWhere(page)] },
      {
        orderBy: { createdAt: 'desc', id: 'desc' },
        limit: page.limit + 1,
      },
    );
    return toPage(rows, page.limit);
  }
}
