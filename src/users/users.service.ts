import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { Page, PageQuery } from '../common/pagination';
import { AccessEpoch } from '../redis/redis.module';
import { AdminUpdateUserDto, UpdateMeDto } from './dto/user.dto';
import { firstCodePoints, OAuthProvider, User, USER_FIELD_LENGTHS } from './user.entity';
import { UserFilter, UsersRepository } from './users.repository';

export interface NewUser {
  email: string;
  fullName: string;
  hashedPassword?: string | null;
  oauthProvider?: OAuthProvider | null;
  oauthId?: string | null;
  avatarUrl?: string | null;
  isAdmin?: boolean;
}

export interface OAuthIdentity {
  provider: OAuthProvider;
  oauthId: string;
  email: string | null;
  emailVerified: boolean;
  fullName: string | null;
  avatarUrl: string | null;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly accessEpoch: AccessEpoch,
  ) {}

  findById(id: string): Promise<User | null> {
    return this.users.findOne({ id });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findByEmail(normaliseEmail(email));
  }

  async getById(id: string): Promise<User> {
    const user = await this.users.findOne({ id });
    if (!user) throw AppError.notFound('User');
    return user;
  }

  async create(data: NewUser): Promise<User> {
    const user = this.users.create({
      email: normaliseEmail(data.email),
      fullName: data.fullName,
      hashedPassword: data.hashedPassword ?? null,
      oauthProvider: data.oauthProvider ?? null,
      oauthId: data.oauthId ?? null,
      avatarUrl: data.avatarUrl ?? null,
      isAdmin: data.isAdmin ?? false,
    });
    try {
      return await this.users.save(user);
    } catch (error) {
      this.users.getEntityManager().clear();
      if (error instanceof UniqueConstraintViolationException) {
        throw new AppError('EMAIL_TAKEN', 'An account with this e-mail address already exists');
      }
      throw error;
    }
  }

  async updateProfile(user: User, dto: UpdateMeDto): Promise<User> {
    if (dto.fullName !== undefined) user.fullName = dto.fullName;
    if (dto.avatarUrl !== undefined) user.avatarUrl = dto.avatarUrl;
    return this.users.save(user);
  }

  async setPasswordHash(user: User, hashedPassword: string): Promise<User> {
    user.hashedPassword = hashedPassword;
    return this.users.save(user);
  }

  list(filter: UserFilter, page: PageQuery): Promise<Page<User>> {
    return this.users.list(filter, page);
  }

  /** Admin change of flags; the last active admin can be neither demoted nor deactivated. */
  async adminUpdate(id: string, dto: AdminUpdateUserDto): Promise<User> {
    const updated = await this.users.withAdminsLocked(async (activeAdminIds) => {
      const user = await this.getById(id);
      const losesAdmin = user.isAdmin && user.isActive && (dto.isAdmin === false || dto.isActive === false);
      if (losesAdmin && activeAdminIds.filter((a) => a !== user.id).length === 0) {
        throw new AppError('LAST_ADMIN', 'The last active administrator cannot be demoted or deactivated');
      }
      if (dto.isActive !== undefined) user.isActive = dto.isActive;
      if (dto.isAdmin !== undefined) user.isAdmin = dto.isAdmin;
      return this.users.save(user);
    });
    // Cached API-key users (the prediction fast path) hold these flags: deactivation counts from the next request.
    await this.accessEpoch.announceChange('user flags changed');
    return updated;
  }

  /** For the operator CLI: creates the user as an admin, or promotes (and re-activates) an existing one. */
  async createOrPromoteAdmin(
    email: string,
    hashedPassword: string,
    fullName: string,
  ): Promise<{ user: User; created: boolean }> {
    const existing = await this.findByEmail(email);
    if (existing) {
      existing.isAdmin = true;
      existing.isActive = true;
      const user = await this.users.save(existing);
      // Only widens access; told anyway so cached snapshots pick the flag up at once (best effort).
      await this.accessEpoch.bump().catch(() => undefined);
      return { user, created: false };
    }
    return { user: await this.create({ email, hashedPassword, fullName, isAdmin: true }), created: true };
  }

  /**
   * Sign-in through a provider: the account already linked to that provider id, else an account with the same
   * e-mail (linked only when the provider says the address is verified), else a new account.
   */
  async findOrCreateFromOAuth(identity: OAuthIdentity): Promise<User> {
    const linked = await this.users.findByOAuth(identity.provider, identity.oauthId);
    if (linked) {
      assertActive(linked);
      if (!linked.avatarUrl && identity.avatarUrl) {
        linked.avatarUrl = identity.avatarUrl;
        await this.users.save(linked);
      }
      return linked;
    }
    if (!identity.email || !identity.emailVerified) {
      throw new AppError(
        'OAUTH_EMAIL_UNVERIFIED',
        `${identity.provider} did not report a verified e-mail address for this account; verify it there and try again`,
      );
    }
    const byEmail = await this.findByEmail(identity.email);
    if (byEmail) {
      // A deactivated account is refused before anything about it changes.
      assertActive(byEmail);
      byEmail.oauthProvider = identity.provider;
      byEmail.oauthId = identity.oauthId;
      if (identity.avatarUrl) byEmail.avatarUrl = identity.avatarUrl;
      return this.users.save(byEmail);
    }
    return this.create({
      email: identity.email,
      fullName: firstCodePoints(
        identity.fullName?.trim() || identity.email.split('@')[0] || identity.email,
        USER_FIELD_LENGTHS.fullName,
      ),
      oauthProvider: identity.provider,
      oauthId: identity.oauthId,
      avatarUrl: identity.avatarUrl,
    });
  }
}

function assertActive(user: User): void {
  if (!user.isActive) throw new AppError('USER_INACTIVE', 'This account is deactivated');
}
