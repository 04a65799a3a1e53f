/** Accounts. */
export class UserStatsDto {
  /** @example 42 */
  total!: number;
  /** Not deactivated. @example 40 */
  active!: number;
}

export class CountByKeyDto {
  /** The status, type or other key counted. @example "active" */
  key!: string;
  /** @example 12 */
  count!: number;
}

export class ModelStatsDto {
  /** @example 15 */
  total!: number;
  /** Model versions per status (`active`, `deprecated`, `archived`). */
  byStatus!: CountByKeyDto[];
  /** Model versions per framework (`sklearn`, `tensorflow`, `pytorch`). */
  byType!: CountByKeyDto[];
}

export class PredictionStatsDto {
  /** Predictions created in the last 24 hours. @example 1234 */
  total!: number;
  /** Per status (`pending`, `success`, `failed`), last 24 hours. */
  byStatus!: CountByKeyDto[];
}

export class ModelLatencyDto {
  /** @format uuid */
  modelId!: string;
  /** @example "iris-classifier" */
  modelName!: string;
  /** @example 3 */
  version!: number;
  /** Successful predictions in the window. @example 250 */
  predictions!: number;
  /** Median inference time in ms. @example 1.5 */
  p50Ms!: number;
  /** 95th percentile inference time in ms. @example 4.2 */
  p95Ms!: number;
}

export class WebhookDeliveryStatsDto {
  /** Deliveries finished (success or failed) in the last 24 hours. @example 120 */
  finished!: number;
  /** @example 117 */
  succeeded!: number;
  /** @example 3 */
  failed!: number;
  /** Still being retried. @example 2 */
  pending!: number;
  /** succeeded / finished, or null when nothing finished. @example 0.975 */
  successRate!: number | null;
}

export class QueueDepthDto {
  /** @example "predictions" */
  name!: string;
  /** -1 when the queue's Redis did not answer. @example 0 */
  waiting!: number;
  active!: number;
  delayed!: number;
  failed!: number;
  completed!: number;
  paused!: number;
}

export class AdminStatsResponseDto {
  /** When the figures were computed. */
  generatedAt!: Date;
  /** The window of the prediction, latency and webhook figures, in hours. @example 24 */
  windowHours!: number;
  users!: UserStatsDto;
  models!: ModelStatsDto;
  predictions!: PredictionStatsDto;
  /** p50/p95 inference time per model over the window, busiest first (at most 100 models). */
  inferenceTimes!: ModelLatencyDto[];
  webhookDeliveries!: WebhookDeliveryStatsDto;
  queues!: QueueDepthDto[];
}
