import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, IsUrl, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { IsOmittable } from '../../common/validation';
import { PageQueryDto } from '../../common/pagination';
import { type User, USER_FIELD_LENGTHS } from '../user.entity';

export class UserResponseDto {
  id!: string;
  email!: string;
  fullName!: string;
  avatarUrl!: string | null;
  /** `google`, `github`, or null for a password account. */
  oauthProvider!: string | null;
  isActive!: boolean;
  isAdmin!: boolean;
  createdAt!: Date;
  updatedAt!: Date;
}

export function toUserResponse(user: User): UserResponseDto {
  return {
    id: user.id,
    email: user.email,
    fullName: user.fullName,
    avatarUrl: user.avatarUrl,
    oauthProvider: user.oauthProvider,
    isActive: user.isActive,
    isAdmin: user.isAdmin,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class UpdateMeDto {
  /** @example "Ada Lovelace" */
  @IsOmittable()
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(USER_FIELD_LENGTHS.fullName)
  fullName?: string;

  /** An https URL, or null to clear it. @example "https://example.com/ada.png" */
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(USER_FIELD_LENGTHS.avatarUrl)
  avatarUrl?: string | null;
}

export class ChangePasswordDto {
  @IsString()
  @MaxLength(256)
  currentPassword!: string;

  /** 8 to 256 characters. */
  @IsString()
  @MinLength(8)
  @MaxLength(256)
  newPassword!: string;
}

const toBool = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

export class ListUsersQueryDto extends PageQueryDto {
  /** Part of the e-mail address, case-insensitive. */
  @IsOptional()
  @IsString()
  @MaxLength(USER_FIELD_LENGTHS.email)
  email?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  isActive?: boolean;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  isAdmin?: boolean;
}

export class AdminUpdateUserDto {
  @IsOmittable()
  @IsBoolean()
  isActive?: boolean;

  @IsOmittable()
  @IsBoolean()
  isAdmin?: boolean;
}

export class UserPageDto {
  @Type(() => UserResponseDto)
  items!: UserResponseDto[];
  nextCursor!: string | null;
}
