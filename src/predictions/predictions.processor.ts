import { Process, Processor } from '@nestjs/bull';
import type { Job } from 'bull';
import { PREDICTIONS_QUEUE, RUN_PREDICTION_JOB, RunPredictionJob } from './predictions.constants';
import { PredictionsService } from './predictions.service';

/** Thin: the service runs the job in its own MikroORM context (`@CreateRequestContext()` on `runQueued`). */
@Processor(PREDICTIONS_QUEUE)
export class PredictionsProcessor {
  constructor(private readonly predictions: PredictionsService) {}

  @Process(RUN_PREDICTION_JOB)
  async run(job: Job<RunPredictionJob>): Promise<void> {
    await this.predictions.runQueued(job.data.predictionId);
  }
}
