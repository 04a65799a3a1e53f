import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { ApiKey } from './api-key.entity';
import { ApiKeyCache } from './api-key-cache';
import { ApiKeyClock, ApiKeyGenerator } from './api-key-providers';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';

@Module({
  imports: [MikroOrmModule.forFeature([ApiKey]), UsersModule],
  controllers: [ApiKeysController],
  providers: [
    ApiKeysService,
    ApiKeyGenerator,
    ApiKeyClock,
    { provide: ApiKeyCache, useFactory: () => new ApiKeyCache() },
  ],
  exports: [ApiKeysService],
})
export class ApiKeysModule {}
