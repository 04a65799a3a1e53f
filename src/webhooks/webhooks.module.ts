import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookDeliveryModule } from './webhook-delivery.module';
import { Webhook } from './webhook.entity';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [MikroOrmModule.forFeature([Webhook, WebhookDelivery]), WebhookDeliveryModule],
  controllers: [WebhooksController],
  providers: [WebhooksService],
  exports: [WebhooksService],
})
export class WebhooksModule {}
