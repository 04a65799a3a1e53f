import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import { EpochCache } from '../common/epoch-cache';
import { inRequestContext } from '../database/request-context';
import { Model } from '../models/model.entity';
import { ModelsRepository } from '../models/models.repository';
import type { SharePermission } from './model-share.entity';
import { ModelSharesRepository } from './model-shares.repository';

/** What a caller may do with a model, weakest first. `owner` covers deleting and managing shares. */
export type ModelPermission = SharePermission | 'owner';
const RANK: Record<ModelPermission, number> = { view: 1, use: 2, edit: 3, owner: 4 };

export function permits(effective: ModelPermission, needed: ModelPermission): boolean {
  return RANK[effective] >= RANK[needed];
}

export interface ModelAccess {
  model: Model;
  permission: ModelPermission;
}

/** How long, and for how many (model, caller) pairs, the fast path trusts a resolved access. */
export const MODEL_ACCESS_CACHE_TTL_MS = 30_000;
export const MODEL_ACCESS_CACHE_MAX_ENTRIES = 10_000;

/**
 * The one place that decides what a caller may do with a model: owner > edit > use > view, admins may do
 * everything, and a share of one version covers every version with the same owner and name.
 */
@Injectable()
export class ModelAccessService {
  private readonly cache = new EpochCache<ModelAccess>(
    MODEL_ACCESS_CACHE_TTL_MS,
    MODEL_ACCESS_CACHE_MAX_ENTRIES,
  );

  constructor(
    private readonly models: ModelsRepository,
    private readonly shares: ModelSharesRepository,
  ) {}

  /**
   * `require` for the prediction fast path: a granted access is cached per (model, caller) under the access
   * epoch (read once per request by the caller; null bypasses the cache), so a warm model costs no database
   * round trip. Changing or deleting a model and granting, changing or revoking a share bump the epoch
   * (`AccessEpoch.announceChange`), so they count from the next request on every instance. The model it returns is shared
   * between requests: read it, never change it. Refusals are not cached.
   */
  async requireCached(
    auth: AuthContext,
    modelId: string,
    needed: ModelPermission,
    epoch: string | null,
    nowMs = Date.now(),
  ): Promise<ModelAccess> {
    const key = `${modelId}|${auth.user.id}|${auth.user.isAdmin ? 'admin' : 'user'}`;
    const cached = epoch === null ? undefined : this.cache.get(key, epoch, nowMs);
    if (cached && permits(cached.permission, needed)) return cached;
    const access = await this.requireInOwnContext(auth, modelId, needed);
    if (epoch !== null) this.cache.set(key, access, epoch, nowMs);
    return access;
  }

  private requireInOwnContext(
    auth: AuthContext,
    modelId: string,
    needed: ModelPermission,
  ): Promise<ModelAccess> {
    return inRequestContext(this.models.getEntityManager(), () => this.require(auth, modelId, needed));
  }

  /** The caller's effective permission on a model, or null when they may not see it at all. */
  async effectivePermission(auth: AuthContext, model: Model): Promise<ModelPermission | null> {
    if (model.user.id === auth.user.id || auth.user.isAdmin) return 'owner';
    const share = await this.shares
      .createQueryBuilder('s')
      .select(['s.id', 's.permission']) // the id too: MikroORM cannot map a row without its primary key
      .join('s.model', 'm')
      .where({ sharedWithUser: auth.user.id, owner: model.user.id, model: { name: model.name } })
      .orderBy({ createdAt: 'asc' })
      .getResultList();
    let best: ModelPermission | null = null;
    for (const s of share) if (!best || RANK[s.permission] > RANK[best]) best = s.permission;
    return best;
  }

  /** 404 when the caller cannot see the model (or it does not exist), 403 when they can but not enough. */
  async require(auth: AuthContext, modelId: string, needed: ModelPermission): Promise<ModelAccess> {
    const model = await this.models.findOne({ id: modelId }, { populate: ['user'] });
    if (!model) throw AppError.notFound('Model');
    const permission = await this.effectivePermission(auth, model);
    if (!permission) throw AppError.notFound('Model');
    if (!permits(permission, needed)) {
      throw new AppError(
        'INSUFFICIENT_PERMISSION',
        `This needs the "${needed}" permission on the model; you have "${permission}"`,
      );
    }
    return { model, permission };
  }
}
