import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { QueueRegistry } from './queue-registry';

export type PredictionOutcome = 'success' | 'failed' | 'pending';
export type WebhookDeliveryOutcome = 'success' | 'failed' | 'retry' | 'blocked';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'paused'] as const;

/**
 * Prometheus metrics of this process, on a registry of its own (so several apps in one test process do not
 * collide). Other modules call `observePrediction` and `observeWebhookDelivery`; HTTP timings come from
 * `httpMiddleware()`, queue depths are read when /metrics is scraped.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly predictions = new Counter({
    name: 'modelport_predictions_total',
    help: 'Predictions by model id and outcome',
    labelNames: ['model', 'status'] as const,
    registers: [this.registry],
  });

  private readonly inference = new Histogram({
    name: 'modelport_inference_duration_seconds',
    help: 'Inference time of successful predictions, by model id',
    labelNames: ['model'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly webhookDeliveries = new Counter({
    name: 'modelport_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(private readonly queues: QueueRegistry) {
    collectDefaultMetrics({ register: this.registry });
    const registry = this.queues;
    new Gauge({
      name: 'modelport_queue_jobs',
      help: 'Bull queue jobs by queue and state (read at scrape time)',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const depth of await registry.depths()) {
          for (const state of QUEUE_STATES) this.set({ queue: depth.name, state }, depth[state]);
        }
      },
    });
  }

  /** One finished prediction: counted by model and status; successful ones also time the inference. */
  observePrediction(modelId: string, status: PredictionOutcome, inferenceTimeMs?: number | null): void {
    this.predictions.inc({ model: modelId, status });
    if (status === 'success' && typeof inferenceTimeMs === 'number' && Number.isFinite(inferenceTimeMs)) {
      this.inference.observe({ model: modelId }, inferenceTimeMs / 1000);
    }
  }

  /** One webhook delivery attempt and how it ended. */
  observeWebhookDelivery(outcome: WebhookDeliveryOutcome): void {
    this.webhookDeliveries.inc({ outcome });
  }

  observeHttpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /** Express middleware timing every request, labelled by the matched route template (never the raw URL). */
  httpMiddleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      const start = process.hrtime.bigint();
      res.once('finish', () => {
        const routePath = (req.route as { path?: unknown } | undefined)?.path;
        const route = typeof routePath === 'string' ? `${req.baseUrl}${routePath}` : 'unmatched';
        this.observeHttpRequest(
          req.method,
          route,
          res.statusCode,
          Number(process.hrtime.bigint() - start) / 1e9,
        );
      });
      next();
    };
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
