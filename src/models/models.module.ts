import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { MulterModule } from '@nestjs/platform-express';
import type { AppConfig } from '../config/app.config';
import { Model } from './model.entity';
import { ModelUploadInterceptor } from './model-upload.interceptor';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({
  imports: [
    MikroOrmModule.forFeature([Model]),
    // No `dest`: multer keeps the file in memory, because the engine must load it before anything is stored.
    MulterModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => ({
        limits: { fileSize: config.get('limits', { infer: true }).uploadBytes, files: 1, fields: 20 },
      }),
    }),
  ],
  controllers: [ModelsController],
  providers: [ModelsService, ModelUploadInterceptor],
  exports: [ModelsService],
})
export class ModelsModule {}
