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

/** The Bull queue that carries one job per (event, webhook) delivery. */
export const WEBHOOKS_QUEUE = 'webhooks';
export const DELIVER_JOB = 'deliver';

/** The JSON body of every delivery. */
export interface WebhookPayload {
  type: WebhookEventType;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: Record<string, unknown>;
}
