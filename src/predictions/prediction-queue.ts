import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';
import { PREDICTIONS_QUEUE, RUN_PREDICTION_JOB, RunPredictionJob } from './predictions.constants';

/** The queue side effect behind a small provider, so the service unit-tests with a fake. */
@Injectable()
export class PredictionQueue {
  constructor(@InjectQueue(PREDICTIONS_QUEUE) private readonly queue: Queue<RunPredictionJob>) {}

  /**
   * One attempt: a prediction is an attempt, recorded as success or failed, never retried behind the caller's
   * back. The job id is the prediction id, so enqueueing twice cannot run it twice; a job whose worker died
   * is picked up again by Bull's stalled-job check and still finds the row pending.
   */
  async enqueue(predictionId: string): Promise<void> {
    await this.queue.add(
      RUN_PREDICTION_JOB,
      { predictionId },
      { jobId: predictionId, attempts: 1, removeOnComplete: true, removeOnFail: 1000 },
    );
  }
}
