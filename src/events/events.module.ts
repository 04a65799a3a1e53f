import { Global, Module } from '@nestjs/common';
import { OutboxSignal } from './outbox-signal';
import { WebhookEventsService } from './webhook-events.service';

/** The webhook event outbox. Global so models, predictions and shares can record events without an import cycle. */
@Global()
@Module({
  providers: [WebhookEventsService, OutboxSignal],
  exports: [WebhookEventsService, OutboxSignal],
})
export class EventsModule {}
