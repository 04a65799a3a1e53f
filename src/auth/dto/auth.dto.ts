import { Transform } from 'class-transformer';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';
import { UserResponseDto } from '../../users/dto/user.dto';
import { USER_FIELD_LENGTHS } from '../../users/user.entity';

const trimLower = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class RegisterDto {
  /** Trimmed and lower-cased. @example "ada@example.com" */
  @Transform(trimLower)
  @IsEmail()
  @MaxLength(USER_FIELD_LENGTHS.email)
  email!: string;

  /** 8 to 256 characters. @example "correct horse battery staple" */
  @IsString()
  @MinLength(8)
  @MaxLength(256)
  password!: string;

  /** @example "Ada Lovelace" */
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(USER_FIELD_LENGTHS.fullName)
  fullName!: string;
}

export class LoginDto {
  /** @example "ada@example.com" */
  @Transform(trimLower)
  @IsEmail()
  @MaxLength(USER_FIELD_LENGTHS.email)
  email!: string;

  /** @example "correct horse battery staple" */
  @IsString()
  @MaxLength(256)
  password!: string;
}

export class RefreshDto {
  @IsString()
  @MaxLength(4096)
  refreshToken!: string;
}

export class TokenPairDto {
  /** Short-lived JWT for `Authorization: Bearer`. */
  accessToken!: string;
  /** Single-use token for `POST /auth/refresh`. */
  refreshToken!: string;
  /** Seconds until the access token expires. @example 900 */
  expiresIn!: number;
  tokenType!: 'Bearer';
}

export class AuthResponseDto extends TokenPairDto {
  user!: UserResponseDto;
}
