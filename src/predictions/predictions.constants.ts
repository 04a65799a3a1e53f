/** The Bull queue that runs predictions asked for with `Prefer: respond-async`. */
export const PREDICTIONS_QUEUE = 'predictions';

/** The one job kind on that queue: run a pending prediction. */
export const RUN_PREDICTION_JOB = 'run-prediction';

export interface RunPredictionJob {
  predictionId: string;
}
