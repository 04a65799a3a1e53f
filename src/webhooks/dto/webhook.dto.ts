import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsUrl,
  IsUUID,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidateIf,
  type ValidationArguments,
} from 'class-validator';
import { IsOmittable } from '../../common/validation';
import { DELIVERY_STATUSES, type DeliveryStatus, type WebhookDelivery } from '../webhook-delivery.entity';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType, type WebhookPayload } from '../webhook-events.catalogue';
import { customHeadersProblem, MAX_CUSTOM_HEADERS } from '../webhook-headers';
import type { Webhook } from '../webhook.entity';

/** class-validator: custom headers as checked by `customHeadersProblem`. */
function IsWebhookHeaders() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isWebhookHeaders',
      target: object.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => customHeadersProblem(value) === null,
        defaultMessage: (args?: ValidationArguments) =>
          customHeadersProblem(args?.value) ?? 'headers are invalid',
      },
    });
}

export class CreateWebhookDto {
  /** Where deliveries are POSTed: an http or https URL, at most 2048 characters. @example "https://example.com/hooks/modelport" */
  @IsUrl({
    protocols: ['http', 'https'],
    require_protocol: true,
    require_tld: false,
    allow_underscores: true,
  })
  @MaxLength(2048)
  url!: string;

  /** The events to receive (at least one). */
  @ApiProperty({
    enum: WEBHOOK_EVENT_TYPES,
    isArray: true,
    example: ['prediction.success', 'prediction.failed'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, {
    each: true,
    message: `each event must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}`,
  })
  events!: WebhookEventType[];

  /** Only hear events of this model (one you own; not with model.deleted); null or absent for all your models. */
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsUUID()
  modelId?: string | null;

  /** Extra request headers (at most 20; not hop-by-hop, Expect, Host, Content-Type, User-Agent or `webhook-*`). */
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    maxProperties: MAX_CUSTOM_HEADERS,
    example: { Authorization: 'Bearer receiver-token' },
  })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsWebhookHeaders()
  headers?: Record<string, string> | null;

  /** Retries after the first attempt, 0 to 20 (default 5). */
  @IsOmittable()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(20)
  maxRetries?: number;

  /** Seconds to wait for the response, 1 to 30 (default 10). */
  @IsOmittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(30)
  timeoutSeconds?: number;

  @IsOmittable()
  @IsBoolean()
  isActive?: boolean;
}

/** Every field may be left out; one that is sent is validated as on create (`null` only where that allows it). */
export class UpdateWebhookDto extends PartialType(CreateWebhookDto, { skipNullProperties: false }) {}

export class WebhookResponseDto {
  id!: string;
  url!: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true })
  events!: WebhookEventType[];
  modelId!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, nullable: true })
  headers!: Record<string, string> | null;
  isActive!: boolean;
  maxRetries!: number;
  timeoutSeconds!: number;
  /** Retries made so far (attempts after the first of each delivery). */
  retryCount!: number;
  /** Events in a row that failed for good; the webhook is disabled at 20. */
  consecutiveFailures!: number;
  /** Why the service disabled this webhook (410 Gone, too many failures), or null. */
  disabledReason!: string | null;
  disabledAt!: Date | null;
  lastTriggeredAt!: Date | null;
  /** Until when the previous secret still signs alongside the current one after a rotation. */
  previousSecretExpiresAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export class WebhookWithSecretResponseDto extends WebhookResponseDto {
  /** The signing secret (`whsec_` + base64). Shown only now: store it to verify `webhook-signature`. */
  secret!: string;
}

export function toWebhookResponse(webhook: Webhook): WebhookResponseDto {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events as WebhookEventType[],
    modelId: webhook.model?.id ?? null,
    headers: webhook.headers,
    isActive: webhook.isActive,
    maxRetries: webhook.maxRetries,
    timeoutSeconds: webhook.timeoutSeconds,
    retryCount: webhook.retryCount,
    consecutiveFailures: webhook.consecutiveFailures,
    disabledReason: webhook.disabledReason,
    disabledAt: webhook.disabledAt,
    lastTriggeredAt: webhook.lastTriggeredAt,
    previousSecretExpiresAt:
      webhook.previousSecretExpiresAt && webhook.previousSecretExpiresAt > new Date()
        ? webhook.previousSecretExpiresAt
        : null,
    createdAt: webhook.createdAt,
    updatedAt: webhook.updatedAt,
  };
}

export class WebhookPageDto {
  @Type(() => WebhookResponseDto)
  items!: WebhookResponseDto[];
  nextCursor!: string | null;
}

export class WebhookDeliveryResponseDto {
  id!: string;
  webhookId!: string;
  /** The `webhook-id` header: the same on every retry and redelivery of this event. */
  eventId!: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES })
  eventType!: WebhookEventType;
  /** The JSON body sent: `{type, timestamp, data}` (see the WebhookPayload… schemas for each type). */
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { type: 'prediction.success', timestamp: '2026-11-26T12:00:00.000Z', data: {} },
  })
  payload!: WebhookPayload;
  @ApiProperty({ enum: DELIVERY_STATUSES })
  status!: DeliveryStatus;
  /** Attempts made so far. */
  attempts!: number;
  maxAttempts!: number;
  /** HTTP status of the latest attempt, or null when no response came. */
  responseStatus!: number | null;
  /** The first 2 KB of the latest response body. */
  responseBody!: string | null;
  durationMs!: number | null;
  error!: string | null;
  lastAttemptAt!: Date | null;
  nextAttemptAt!: Date | null;
  completedAt!: Date | null;
  /** The delivery this one re-sends, for a manual redelivery. */
  redeliveryOf!: string | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export function toDeliveryResponse(delivery: WebhookDelivery): WebhookDeliveryResponseDto {
  return {
    id: delivery.id,
    webhookId: delivery.webhook.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType as WebhookEventType,
    payload: delivery.payload,
    status: delivery.status,
    attempts: delivery.attempts,
    maxAttempts: delivery.maxAttempts,
    responseStatus: delivery.responseStatus,
    responseBody: delivery.responseBody,
    durationMs: delivery.durationMs,
    error: delivery.error,
    lastAttemptAt: delivery.lastAttemptAt,
    nextAttemptAt: delivery.nextAttemptAt,
    completedAt: delivery.completedAt,
    redeliveryOf: delivery.redeliveryOf,
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
  };
}

export class WebhookDeliveryPageDto {
  @Type(() => WebhookDeliveryResponseDto)
  items!: WebhookDeliveryResponseDto[];
  nextCursor!: string | null;
}
