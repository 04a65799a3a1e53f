import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import { mapPage, Page, PageQuery } from '../common/pagination';
import { WebhookEventsService } from '../events/webhook-events.service';
import { AccessEpoch } from '../redis/redis.module';
import type { Model } from '../models/model.entity';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import {
  CreateModelShareDto,
  ModelShareResponseDto,
  ReceivedShareResponseDto,
  toModelShareResponse,
  UpdateModelShareDto,
} from './dto/model-share.dto';
import type { ModelAccess } from './model-access.service';
import { ModelFamily, ModelSharesRepository, ReceivedShareRow } from './model-shares.repository';

function familyOf(access: ModelAccess): ModelFamily {
  return { ownerId: access.model.user.id, name: access.model.name };
}

/**
 * Sharing a model with other users. Callers reach these methods through `@RequireModelPermission('owner')`,
 * so `access` is a model the caller owns (or an admin acting for the owner). A share is stored against one
 * version but covers the whole family: every version with the same owner and name, present and future.
 */
@Injectable()
export class ModelSharesService {
  constructor(
    private readonly shares: ModelSharesRepository,
    private readonly users: UsersService,
    private readonly events: WebhookEventsService,
    private readonly accessEpoch: AccessEpoch,
  ) {}

  async grant(access: ModelAccess, dto: CreateModelShareDto): Promise<ModelShareResponseDto> {
    const recipient = await this.findRecipient(dto);
    const family = familyOf(access);
    if (recipient.id === family.ownerId) {
      throw new AppError('SHARE_WITH_SELF', 'The owner already has every permission on their own model');
    }
    const share = await this.shares.insertUnlessShared(
      {
        modelId: access.model.id,
        ownerId: family.ownerId,
        name: family.name,
        sharedWithUserId: recipient.id,
        permission: dto.permission,
      },
      (em, created) =>
        this.events
          .record(em, {
            type: 'model.shared',
            userId: family.ownerId,
            modelId: access.model.id,
            data: {
              shareId: created.id,
              modelId: access.model.id,
              modelName: family.name,
              sharedWithUserId: recipient.id,
              permission: dto.permission,
            },
          })
          .then(() => undefined),
    );
    if (!share) {
      throw new AppError(
        'SHARE_EXISTS',
        `This model is already shared with that user; change the existing share's permission instead`,
      );
    }
    await this.accessEpoch.announceChange('share granted');
    return toModelShareResponse(share);
  }

  async list(access: ModelAccess, page: PageQuery): Promise<Page<ModelShareResponseDto>> {
    return mapPage(await this.shares.listFamily(familyOf(access), page), toModelShareResponse);
  }

  async update(
    access: ModelAccess,
    shareId: string,
    dto: UpdateModelShareDto,
  ): Promise<ModelShareResponseDto> {
    const share = await this.shares.findInFamily(familyOf(access), shareId);
    if (!share) throw AppError.notFound('Share');
    share.permission = dto.permission;
    const saved = await this.shares.save(share);
    await this.accessEpoch.announceChange('share changed');
    return toModelShareResponse(saved);
  }

  async revoke(access: ModelAccess, shareId: string): Promise<void> {
    const share = await this.shares.findInFamily(familyOf(access), shareId);
    if (!share) throw AppError.notFound('Share');
    const family = familyOf(access);
    await this.shares.delete(share, (em) =>
      this.events
        .record(em, {
          type: 'model.unshared',
          userId: family.ownerId,
          modelId: access.model.id,
          data: {
            shareId: share.id,
            modelId: access.model.id,
            modelName: family.name,
            sharedWithUserId: share.sharedWithUser.id,
          },
        })
        .then(() => undefined),
    );
    await this.accessEpoch.announceChange('share revoked');
  }

  async listReceived(auth: AuthContext, page: PageQuery): Promise<Page<ReceivedShareResponseDto>> {
    return mapPage(await this.shares.listReceived(auth.user.id, page), toReceivedShareResponse);
  }

  /**
   * Call before deleting a model version (inside the same transaction): shares are stored against one version
   * but cover the family, so they move to another version instead of disappearing with this one.
   */
  async keepSharesBeforeDeleting(model: Model): Promise<void> {
    await this.shares.moveOffVersion(model.id, { ownerId: model.user.id, name: model.name });
  }

  private async findRecipient(dto: CreateModelShareDto): Promise<User> {
    const byId = dto.userId !== undefined && dto.userId !== null;
    const byEmail = dto.email !== undefined && dto.email !== null;
    if (byId === byEmail) throw new AppError('VALIDATION_FAILED', 'Give exactly one of userId or email');
    const user = byId ? await this.users.findById(dto.userId!) : await this.users.findByEmail(dto.email!);
    if (!user) throw AppError.notFound('User');
    return user;
  }
}

function toReceivedShareResponse(row: ReceivedShareRow): ReceivedShareResponseDto {
  return {
    id: row.id,
    permission: row.permission,
    model: {
      id: row.modelId,
      name: row.modelName,
      version: row.modelVersion,
      description: row.modelDescription,
      modelType: row.modelType,
      status: row.modelStatus,
    },
    owner: { id: row.ownerId, fullName: row.ownerName },
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
