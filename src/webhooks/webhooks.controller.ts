import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthContext } from '../common/auth-context';
import { ApiAuth, Auth } from '../common/decorators';
import { mapPage, PageQueryDto } from '../common/pagination';
import { WEBHOOK_PAYLOAD_DTOS } from './dto/webhook-payload.dto';
import {
  CreateWebhookDto,
  toDeliveryResponse,
  toWebhookResponse,
  UpdateWebhookDto,
  WebhookDeliveryPageDto,
  WebhookDeliveryResponseDto,
  WebhookPageDto,
  WebhookResponseDto,
  WebhookWithSecretResponseDto,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

/** Why a webhook's `modelId` can be refused with 403 (the fan-out only reaches the model owner's webhooks). */
const MODEL_NOT_OWNED =
  '`modelId` names a model shared with you: webhooks hear only events of your own models';

const withSecret = ({
  webhook,
  secret,
}: Awaited<ReturnType<WebhooksService['create']>>): WebhookWithSecretResponseDto => ({
  ...toWebhookResponse(webhook),
  secret,
});

@ApiTags('webhooks')
@ApiAuth()
@ApiExtraModels(...WEBHOOK_PAYLOAD_DTOS)
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiForbiddenResponse({ description: MODEL_NOT_OWNED })
  @ApiNotFoundResponse({ description: 'No model with this `modelId` that you can see' })
  @ApiOperation({
    operationId: 'createWebhook',
    summary: 'Subscribe a URL to events; the signing secret is shown only now',
  })
  async create(
    @Auth() auth: AuthContext,
    @Body() dto: CreateWebhookDto,
  ): Promise<WebhookWithSecretResponseDto> {
    return withSecret(await this.webhooks.create(auth, dto));
  }

  @Get()
  @ApiOperation({ operationId: 'listWebhooks', summary: 'Your webhooks, newest first' })
  async list(@Auth() auth: AuthContext, @Query() query: PageQueryDto): Promise<WebhookPageDto> {
    return mapPage(await this.webhooks.list(auth, query), toWebhookResponse);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getWebhook', summary: 'One of your webhooks' })
  async get(@Auth() auth: AuthContext, @Param('id', ParseUUIDPipe) id: string): Promise<WebhookResponseDto> {
    return toWebhookResponse(await this.webhooks.get(auth, id));
  }

  @Patch(':id')
  @ApiForbiddenResponse({ description: MODEL_NOT_OWNED })
  @ApiNotFoundResponse({
    description: 'No such webhook of yours, or no model with this `modelId` that you can see',
  })
  @ApiOperation({
    operationId: 'updateWebhook',
    summary: 'Change a webhook (isActive: true re-enables a disabled one)',
  })
  async update(
    @Auth() auth: AuthContext,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: UpdateWebhookDto,
  ): Promise<WebhookResponseDto> {
    return toWebhookResponse(await this.webhooks.update(auth, id, dto));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteWebhook', summary: 'Delete a webhook and its delivery log' })
  async remove(@Auth() auth: AuthContext, @Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.webhooks.remove(auth, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'rotateWebhookSecret',
    summary: 'New signing secret; the old one keeps signing for 24 hours',
  })
  async rotateSecret(
    @Auth() auth: AuthContext,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<WebhookWithSecretResponseDto> {
    return withSecret(await this.webhooks.rotateSecret(auth, id));
  }

  @Post(':id/test')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'testWebhook',
    summary: 'Send a webhook.test event now and return its delivery',
  })
  async test(
    @Auth() auth: AuthContext,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<WebhookDeliveryResponseDto> {
    return toDeliveryResponse(await this.webhooks.sendTest(auth, id));
  }

  @Get(':id/deliveries')
  @ApiOperation({
    operationId: 'listWebhookDeliveries',
    summary: 'The delivery log of a webhook, newest first',
  })
  async listDeliveries(
    @Auth() auth: AuthContext,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: PageQueryDto,
  ): Promise<WebhookDeliveryPageDto> {
    return mapPage(await this.webhooks.listDeliveries(auth, id, query), toDeliveryResponse);
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'redeliverWebhookDelivery',
    summary: 'Send a delivered event again (same webhook-id)',
  })
  async redeliver(
    @Auth() auth: AuthContext,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('deliveryId', ParseUUIDPipe) deliveryId: string,
  ): Promise<WebhookDeliveryResponseDto> {
    return toDeliveryResponse(await this.webhooks.redeliver(auth, id, deliveryId));
  }
}
