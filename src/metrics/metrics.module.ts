import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { QueueRegistry } from './queue-registry';

/** Global, so the predictions and webhooks modules can inject MetricsService without importing this module. */
@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [MetricsController],
  providers: [MetricsService, QueueRegistry],
  exports: [MetricsService, QueueRegistry],
})
export class MetricsModule {}
