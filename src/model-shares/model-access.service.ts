import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
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

/**
 * The one place that decides what a caller may do with a model: owner > edit > use > view, admins may do
 * everything, and a share of one version covers every version with the same owner and name.
 */
@Injectable()
export class ModelAccessService {
  constructor(
    private readonly models: ModelsRepository,
    private readonly shares: ModelSharesRepository,
  ) {}

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
