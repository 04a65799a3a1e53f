import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { UsersModule } from '../users/users.module';
import { AuthController, PasswordController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { TokenService } from './token.service';
import { OAuthController } from './oauth/oauth.controller';
import { OAUTH_PROVIDERS } from './oauth/oauth.providers';

@Module({
  imports: [JwtModule.register({}), UsersModule, ApiKeysModule],
  controllers: [AuthController, PasswordController, OAuthController],
  providers: [AuthService, TokenService, { provide: APP_GUARD, useClass: AuthGuard }, ...OAUTH_PROVIDERS],
  exports: [AuthService, TokenService],
})
export class AuthModule {}
