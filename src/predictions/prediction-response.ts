import type { Response } from 'express';
import { API_PREFIX } from '../app.setup';
import type { PredictionOutcome } from './predictions.service';

/**
 * HTTP side of a prediction outcome: 201, or 202 with `Location` and `Preference-Applied` (RFC 7240) for a
 * queued one; a deprecated model adds `Deprecation: true` and a `Link` (rel="deprecation", RFC 9745) to the
 * model's versions. `Vary: Prefer` because the header changes the answer.
 */
export function sendPredictionOutcome(res: Response, outcome: PredictionOutcome): void {
  for (const [name, value] of predictionOutcomeHeaders(outcome)) res.setHeader(name, value);
  res.status(outcome.queued ? 202 : 201);
  res.json(outcome.prediction);
}

/** The headers of a prediction answer (shared with the fast path, PredictionFastPath). */
export function predictionOutcomeHeaders(outcome: PredictionOutcome): Array<[string, string]> {
  const { prediction } = outcome;
  const headers: Array<[string, string]> = [['Vary', 'Prefer']];
  if (outcome.deprecated) {
    headers.push(['Deprecation', 'true']);
    headers.push(['Link', `</${API_PREFIX}/models/${prediction.modelId}/versions>; rel="deprecation"`]);
  }
  if (outcome.queued) {
    headers.push(['Preference-Applied', 'respond-async']);
    headers.push(['Location', `/${API_PREFIX}/predictions/${prediction.id}`]);
  }
  return headers;
}
