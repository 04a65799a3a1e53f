import { ApiProperty, PickType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsIn, IsOptional, IsUUID, MaxLength } from 'class-validator';
import { MODEL_STATUSES, MODEL_TYPES } from '../../models/model.entity';
import type { ModelShare, SharePermission } from '../model-share.entity';
import { SHARE_PERMISSIONS } from '../model-share.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateModelShareDto {
  /** The user to share with, by id (give this or `email`, not both). */
  @IsOptional()
  @IsUUID()
  userId?: string;

  /** The user to share with, by e-mail address (give this or `userId`, not both). @example "ada@example.com" */
  @IsOptional()
  @Transform(trim)
  @IsEmail()
  @MaxLength(320)
  email?: string;

  /** `view`: read the model; `use`: view + run predictions; `edit`: use + update it and upload versions. */
  @ApiProperty({ enum: SHARE_PERMISSIONS, example: 'use' })
  @IsIn(SHARE_PERMISSIONS)
  permission!: SharePermission;
}

/** Only the permission of a share can change; to share with someone else, create another share. */
export class UpdateModelShareDto extends PickType(CreateModelShareDto, ['permission'] as const) {}

export class ModelShareResponseDto {
  id!: string;
  /** The model version the share was created on; it covers every version with the same owner and name. */
  modelId!: string;
  ownerId!: string;
  sharedWithUserId!: string;
  @ApiProperty({ enum: SHARE_PERMISSIONS })
  permission!: SharePermission;
  createdAt!: Date;
  updatedAt!: Date;
}

export class ModelSharePageDto {
  items!: ModelShareResponseDto[];
  nextCursor!: string | null;
}

export function toModelShareResponse(share: ModelShare): ModelShareResponseDto {
  return {
    id: share.id,
    modelId: share.model.id,
    ownerId: share.owner.id,
    sharedWithUserId: share.sharedWithUser.id,
    permission: share.permission,
    createdAt: share.createdAt,
    updatedAt: share.updatedAt,
  };
}

/** The latest version of a shared model, as the recipient sees it in the list. */
export class SharedModelSummaryDto {
  id!: string;
  name!: string;
  version!: number;
  description!: string | null;
  @ApiProperty({ enum: MODEL_TYPES })
  modelType!: string;
  @ApiProperty({ enum: MODEL_STATUSES })
  status!: string;
}

export class ShareOwnerDto {
  id!: string;
  fullName!: string;
}

/** A model someone shared with the caller, and what the caller may do with it. */
export class ReceivedShareResponseDto {
  /** The share's id. */
  id!: string;
  @ApiProperty({ enum: SHARE_PERMISSIONS })
  permission!: SharePermission;
  /** The newest version with the shared name (a share covers all of them). */
  model!: SharedModelSummaryDto;
  owner!: ShareOwnerDto;
  createdAt!: Date;
  updatedAt!: Date;
}

export class ReceivedSharePageDto {
  items!: ReceivedShareResponseDto[];
  nextCursor!: string | null;
}
