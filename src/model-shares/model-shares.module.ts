import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Global, Module } from '@nestjs/common';
import { Model } from '../models/model.entity';
import { ModelAccessService } from './model-access.service';
import { ModelShare } from './model-share.entity';
import { ModelPermissionGuard } from './require-model-permission';

/** Global so every module's controllers can use @RequireModelPermission without importing this one. */
@Global()
@Module({
  imports: [MikroOrmModule.forFeature([ModelShare, Model])],
  providers: [ModelAccessService, ModelPermissionGuard],
  exports: [ModelAccessService, ModelPermissionGuard],
})
export class ModelSharesModule {}
