import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Global, Module } from '@nestjs/common';
import { Model } from '../models/model.entity';
import { UsersModule } from '../users/users.module';
import { ModelAccessService } from './model-access.service';
import { ModelShare } from './model-share.entity';
import { ModelSharesController, ReceivedSharesController } from './model-shares.controller';
import { ModelSharesService } from './model-shares.service';
import { ModelPermissionGuard } from './require-model-permission';

/** Global so every module's controllers can use @RequireModelPermission without importing this one. */
@Global()
@Module({
  imports: [MikroOrmModule.forFeature([ModelShare, Model]), UsersModule],
  controllers: [ModelSharesController, ReceivedSharesController],
  providers: [ModelAccessService, ModelPermissionGuard, ModelSharesService],
  exports: [ModelAccessService, ModelPermissionGuard, ModelSharesService],
})
export class ModelSharesModule {}
