import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { ChangePasswordDto, toUserResponse } from '../users/dto/user.dto';
import { PasswordHasher } from '../users/password-hasher';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { AuthResponseDto, LoginDto, RegisterDto, TokenPairDto } from './dto/auth.dto';
import { TokenService } from './token.service';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokenService,
  ) {}

  async register(dto: RegisterDto): Promise<AuthResponseDto> {
    if (await this.users.findByEmail(dto.email)) {
      throw new AppError('EMAIL_TAKEN', 'An account with this e-mail address already exists');
    }
    const hashedPassword = await this.hasher.hash(dto.password);
    const user = await this.users.create({ email: dto.email, fullName: dto.fullName, hashedPassword });
    return this.signIn(user);
  }

  /** Unknown e-mail, wrong password and password-less (OAuth-only) accounts all get the same 401. */
  async login(dto: LoginDto): Promise<AuthResponseDto> {
    const user = await this.users.findByEmail(dto.email);
    const ok = await this.hasher.verify(user?.hashedPassword, dto.password);
    if (!user || !ok) throw new AppError('INVALID_CREDENTIALS', 'Invalid e-mail or password');
    if (!user.isActive) throw new AppError('USER_INACTIVE', 'This account is deactivated');
    return this.signIn(user);
  }

  async refresh(refreshToken: string): Promise<AuthResponseDto> {
    const { userId, tokens } = await this.tokens.rotate(refreshToken);
    const user = await this.users.findById(userId);
    if (!user) throw new AppError('INVALID_TOKEN', 'Invalid or expired refresh token');
    if (!user.isActive) throw new AppError('USER_INACTIVE', 'This account is deactivated');
    return { ...tokens, user: toUserResponse(user) };
  }

  /** Needs the current password (unless the account never had one); ends every other session. */
  async changePassword(user: User, dto: ChangePasswordDto): Promise<AuthResponseDto> {
    if (user.hashedPassword && !(await this.hasher.verify(user.hashedPassword, dto.currentPassword))) {
      throw new AppError('FORBIDDEN', 'The current password is not correct');
    }
    await this.users.setPasswordHash(user, await this.hasher.hash(dto.newPassword));
    await this.tokens.revokeAllFor(user.id);
    return this.signIn(user);
  }

  async signIn(user: User): Promise<AuthResponseDto> {
    const tokens: TokenPairDto = await this.tokens.issue(user.id);
    return { ...tokens, user: toUserResponse(user) };
  }
}
