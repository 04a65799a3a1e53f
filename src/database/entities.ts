import { ApiKey } from '../api-keys/api-key.entity';
import { ModelShare } from '../model-shares/model-share.entity';
import { Model } from '../models/model.entity';
import { Prediction } from '../predictions/prediction.entity';
import { User } from '../users/user.entity';
import { Webhook } from '../webhooks/webhook.entity';
import { WebhookDelivery } from '../webhooks/webhook-delivery.entity';
import { WebhookEvent } from '../events/webhook-event.entity';

/** Every entity, listed explicitly so discovery works the same under ts-jest, ts-node and compiled JS. */
export const ENTITIES = [User, Model, Prediction, ApiKey, Webhook, ModelShare, WebhookDelivery, WebhookEvent];
