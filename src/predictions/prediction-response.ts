import type { Response } from 'express';
import { API_PREFIX } from '../app.setup';
import type { PredictionOutcome } from './predictions.service';

/**
 * HTTP side of a prediction outcome: 201, or 202 with `Location` and `Preference-Applied` (RFC 7240) for a
 * queued one; a deprecated model adds `Deprecation: true` and a `Link` (rel="deprecation", RFC 9745) to the
 * model's versions. `Vary: Prefer` because the header changes the answer.
 */
export function sendPredictionOutcome(res: Response, outcome: PredictionOutcome): void {
  const { prediction } = outcome;
  res.setHeader('Vary', 'Prefer');
  if (outcome.deprecated) {
    res.setHeader('Deprecation', 'true');
    res.setHeader('Link', `</${API_PREFIX}/models/${prediction.modelId}/versions>; rel="deprecation"`);
  }
  if (outcome.queued) {
    res.setHeader('Preference-Applied', 'respond-async');
    res.setHeader('Location', `/${API_PREFIX}/predictions/${prediction.id}`);
    res.status(202);
  } else {
    res.status(201);
  }
  res.json(prediction);
}
