/** Every event a webhook can subscribe to (the OpenAPI enum). */
export const WEBHOOK_EVENT_TYPES = [
  'prediction.success',
  'prediction.failed',
  'model.created',
  'model.updated',
  'model.deleted',
  'model.shared',
  'model.unshared',
  'webhook.test',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * The Bull queue of webhook deliveries. A delivery's first attempt travels in a `deliver-batch` job with up to 100
 * others (the relay's batch); a delivery that must be retried gets a `deliver` job of its own, delayed by its backoff.
 */
export const WEBHOOKS_QUEUE = 'webhooks';
export const DELIVER_JOB = 'deliver';
export const DELIVER_BATCH_JOB = 'deliver-batch';

/** The JSON body of every delivery. */
export interface WebhookPayload {
  type: WebhookEventType;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: Record<string, unknown>;
}
