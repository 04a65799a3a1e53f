import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsISO8601, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import type { ApiKey } from '../api-key.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateApiKeyDto {
  /** What the key is for, 1 to 100 characters. @example "CI pipeline" */
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  /** When the key stops working (ISO 8601, in the future); omit for a key that does not expire. */
  @ApiProperty({ required: false, type: String, format: 'date-time', example: '2030-01-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  expiresAt?: string;
}

/** An API key as listed: never the key itself nor its hash. */
export class ApiKeyResponseDto {
  id!: string;
  /** @example "CI pipeline" */
  name!: string;
  /** The first characters of the key, to tell keys apart. @example "mp_4fGh1Kq" */
  prefix!: string;
  isActive!: boolean;
  createdAt!: Date;
  lastUsedAt!: Date | null;
  expiresAt!: Date | null;
}

/** The answer to creating a key: the only time the key is shown. */
export class CreatedApiKeyResponseDto {
  id!: string;
  name!: string;
  /** The key itself. Store it now: it is not shown again. */
  key!: string;
  prefix!: string;
  expiresAt!: Date | null;
  createdAt!: Date;
}

export class ApiKeyPageDto {
  items!: ApiKeyResponseDto[];
  nextCursor!: string | null;
}

export function toApiKeyResponse(apiKey: ApiKey): ApiKeyResponseDto {
  return {
    id: apiKey.id,
    name: apiKey.name,
    prefix: apiKey.prefix,
    isActive: apiKey.isActive,
    createdAt: apiKey.createdAt,
    lastUsedAt: apiKey.lastUsedAt,
    expiresAt: apiKey.expiresAt,
  };
}

export function toCreatedApiKeyResponse(apiKey: ApiKey, key: string): CreatedApiKeyResponseDto {
  return {
    id: apiKey.id,
    name: apiKey.name,
    key,
    prefix: apiKey.prefix,
    expiresAt: apiKey.expiresAt,
    createdAt: apiKey.createdAt,
  };
}
