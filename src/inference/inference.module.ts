import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/app.config';
import { INFERENCE_PROVIDER } from './inference.types';
import { OnnxRuntimeProvider } from './onnx-runtime.provider';

/**
 * Global so that the models and predictions modules can inject INFERENCE_PROVIDER without importing this
 * module; one provider instance means one session cache per process.
 */
@Global()
@Module({
  providers: [
    {
      provide: INFERENCE_PROVIDER,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) =>
        new OnnxRuntimeProvider(
          config.get('inference', { infer: true }),
          config.get('limits', { infer: true }),
        ),
    },
  ],
  exports: [INFERENCE_PROVIDER],
})
export class InferenceModule {}
