import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import { PageQueryDto, toPageQuery, type Page } from '../common/pagination';
import type { AppConfig } from '../config/app.config';
import { ModelAccessService } from '../model-shares/model-access.service';
import type { Model } from '../models/model.entity';
import type { CreateWebhookDto, UpdateWebhookDto } from './dto/webhook.dto';
import { SecretCipher } from './secret-cipher';
import { classifyAddress, literalIp } from './ssrf';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDeliveryService } from './webhook-delivery.service';
import type { WebhookDelivery } from './webhook-delivery.entity';
import { generateWebhookSecret } from './webhook-signer';
import type { Webhook } from './webhook.entity';
import { WebhooksRepository } from './webhooks.repository';

/** How long the previous secret keeps signing after a rotation. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

@Injectable()
export class WebhooksService {
  private readonly allowPrivateTargets: boolean;

  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly delivery: WebhookDeliveryService,
    private readonly access: ModelAccessService,
    private readonly cipher: SecretCipher,
    config: ConfigService<AppConfig, true>,
  ) {
    this.allowPrivateTargets = config.get('webhooks', { infer: true }).allowPrivateTargets;
  }

  async create(auth: AuthContext, dto: CreateWebhookDto): Promise<{ webhook: Webhook; secret: string }> {
    this.checkTarget(dto.url);
    checkModelFilter(dto.events, dto.modelId ?? null);
    const model = dto.modelId ? await this.ownModel(auth, dto.modelId) : null;
    const secret = generateWebhookSecret();
    const webhook = this.webhooks.create({
      user: auth.user,
      model,
      url: dto.url,
      secret: this.cipher.encrypt(secret),
      events: [...dto.events],
      headers: dto.headers ?? null,
      maxRetries: dto.maxRetries ?? 5,
      timeoutSeconds: dto.timeoutSeconds ?? 10,
      isActive: dto.isActive ?? true,
    });
    await this.webhooks.getEntityManager().flush();
    return { webhook, secret };
  }

  list(auth: AuthContext, query: PageQueryDto): Promise<Page<Webhook>> {
    return this.webhooks.listOwned(auth.user.id, toPageQuery(query));
  }

  async get(auth: AuthContext, id: string): Promise<Webhook> {
    const webhook = await this.webhooks.findOwned(auth.user.id, id);
    if (!webhook) throw AppError.notFound('Webhook');
    return webhook;
  }

  async update(auth: AuthContext, id: string, dto: UpdateWebhookDto): Promise<Webhook> {
    const webhook = await this.get(auth, id);
    if (dto.url !== undefined) this.checkTarget(dto.url);
    // Checked only when the PATCH changes the filter, so a webhook stored before the rule can still be edited.
    if (dto.events !== undefined || dto.modelId !== undefined)
      checkModelFilter(
        dto.events ?? webhook.events,
        dto.modelId !== undefined ? dto.modelId : (webhook.model?.id ?? null),
      );
    const model = dto.modelId ? await this.ownModel(auth, dto.modelId) : null;
    if (dto.url !== undefined) webhook.url = dto.url;
    if (dto.modelId !== undefined) webhook.model = model;
    if (dto.events !== undefined) webhook.events = [...dto.events];
    if (dto.headers !== undefined) webhook.headers = dto.headers ?? null;
    if (dto.maxRetries !== undefined) webhook.maxRetries = dto.maxRetries;
    if (dto.timeoutSeconds !== undefined) webhook.timeoutSeconds = dto.timeoutSeconds;
    if (dto.isActive !== undefined) {
      if (dto.isActive && !webhook.isActive) {
        // Re-enabled by its owner: start counting failures afresh.
        webhook.consecutiveFailures = 0;
        webhook.disabledReason = null;
        webhook.disabledAt = null;
      }
      webhook.isActive = dto.isActive;
    }
    await this.webhooks.getEntityManager().flush();
    return webhook;
  }

  async remove(auth: AuthContext, id: string): Promise<void> {
    const webhook = await this.get(auth, id);
    await this.webhooks.getEntityManager().remove(webhook).flush();
  }

  /** A new secret; the previous one keeps signing alongside it for 24 hours. */
  async rotateSecret(auth: AuthContext, id: string): Promise<{ webhook: Webhook; secret: string }> {
    const webhook = await this.get(auth, id);
    const secret = generateWebhookSecret();
    webhook.previousSecret = webhook.secret;
    webhook.previousSecretExpiresAt = new Date(Date.now() + SECRET_OVERLAP_MS);
    webhook.secret = this.cipher.encrypt(secret);
    await this.webhooks.getEntityManager().flush();
    return { webhook, secret };
  }

  async listDeliveries(auth: AuthContext, id: string, query: PageQueryDto): Promise<Page<WebhookDelivery>> {
    const webhook = await this.get(auth, id);
    return this.deliveries.listForWebhook(webhook.id, toPageQuery(query));
  }

  async redeliver(auth: AuthContext, id: string, deliveryId: string): Promise<WebhookDelivery> {
    const webhook = await this.get(auth, id);
    const original = await this.deliveries.findForWebhook(webhook.id, deliveryId);
    if (!original) throw AppError.notFound('Delivery');
    return this.delivery.redeliver(webhook, original);
  }

  async sendTest(auth: AuthContext, id: string): Promise<WebhookDelivery> {
    return this.delivery.sendTest(await this.get(auth, id));
  }

  /** Literal IPs are checked here; names are checked again at connect time (DNS can change). */
  private checkTarget(url: string): void {
    if (this.allowPrivateTargets) return;
    let hostname: string;
    try {
      hostname = new URL(url).hostname;
    } catch {
      throw new AppError('INVALID_WEBHOOK_TARGET', 'The webhook URL is not a valid URL');
    }
    const ip = literalIp(hostname);
    const reason = ip ? classifyAddress(ip) : null;
    if (reason) {
      throw new AppError(
        'INVALID_WEBHOOK_TARGET',
        `The webhook URL points at ${ip}, a ${reason} address; only public addresses are allowed`,
      );
    }
  }

  /**
   * A model the caller owns: the fan-out hears only the events of the webhook owner's own models, so a filter on
   * a model shared with the caller (or, for an admin, anyone's model) would never hear anything. A model the
   * caller cannot see stays a 404.
   */
  private async ownModel(auth: AuthContext, modelId: string): Promise<Model> {
    const { model } = await this.access.require(auth, modelId, 'view');
    if (model.user.id !== auth.user.id) {
      throw new AppError(
        'INSUFFICIENT_PERMISSION',
        'A webhook hears only events of your own models; this model belongs to another user',
      );
    }
    return model;
  }
}

/**
 * Deleting a model deletes the webhooks filtered on it (before its model.deleted event is fanned out), so such a
 * webhook could never hear model.deleted: refused rather than accepted and silent.
 */
function checkModelFilter(events: readonly string[], modelId: string | null): void {
  if (modelId !== null && events.includes('model.deleted')) {
    throw new AppError(
      'VALIDATION_FAILED',
      'model.deleted is heard only by webhooks without a modelId: a webhook filtered on a model is deleted with it',
    );
  }
}
