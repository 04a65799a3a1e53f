import { CreateRequestContext } from '@mikro-orm/core';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import { parseInstant } from '../common/instant';
import { jsonDepth, MAX_JSON_DEPTH, tooDeepError } from '../common/json-depth';
import { mapPage, Page, toPageQuery } from '../common/pagination';
import type { AppConfig } from '../config/app.config';
import { RecordedEvent, WebhookEventsService } from '../events/webhook-events.service';
import { INFERENCE_PROVIDER, InferenceProvider, LoadableModel } from '../inference/inference.types';
import { MetricsService } from '../metrics/metrics.service';
import type { ModelAccess } from '../model-shares/model-access.service';
import type { Model } from '../models/model.entity';
import { StorageService } from '../storage/storage.service';
import {
  ListModelPredictionsQueryDto,
  ListPredictionsQueryDto,
  PredictionResponseDto,
  toPredictionResponse,
} from './dto/prediction.dto';
import { InputValidators } from './input-validators';
import { newPrediction, Prediction } from './prediction.entity';
import { MAX_INPUT_DEPTH, modelInputNames, scanInput, toNamedInput, withoutNul } from './prediction-input';
import { PredictionQueue } from './prediction-queue';
import { PredictionFilter, PredictionsRepository } from './predictions.repository';

/** What `create` did, for the controller to turn into a status code and headers. */
export interface PredictionOutcome {
  prediction: PredictionResponseDto;
  /** Queued (`Prefer: respond-async`): answer 202 with a Location. */
  queued: boolean;
  /** The model is deprecated: it still serves, and the answer says so. */
  deprecated: boolean;
}

/** The message recorded for a failure: an AppError's own (what the caller is told), else a generic one. */
function describeFailure(err: unknown): { error: Error; message: string } {
  if (err instanceof AppError) return { error: err, message: err.message };
  return {
    error: err instanceof Error ? err : new Error(String(err)),
    message: 'internal error while running the model',
  };
}

@Injectable()
export class PredictionsService {
  private readonly logger = new Logger(PredictionsService.name);
  private readonly maxElements: number;

  constructor(
    private readonly predictions: PredictionsRepository,
    @Inject(INFERENCE_PROVIDER) private readonly engine: InferenceProvider,
    private readonly storage: StorageService,
    private readonly validators: InputValidators,
    private readonly queue: PredictionQueue,
    private readonly events: WebhookEventsService,
    config: ConfigService<AppConfig, true>,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.maxElements = config.get('limits', { infer: true }).inputElements;
  }

  /**
   * Runs (or queues) one prediction on a model the guard loaded with at least `use`. An archived model is
   * refused (409) before anything is recorded: no attempt was made. From the input checks on, every attempt is
   * recorded — `success`, or `failed` with the same message the caller gets (400 bad input, 413 too many
   * elements, 504 timeout, 422 engine failure). Synchronous predictions write one row, after inference;
   * queued ones insert a `pending` row (after the same input checks) and the worker completes it.
   */
  async create(
    auth: AuthContext,
    access: ModelAccess,
    input: unknown,
    options: { respondAsync: boolean },
  ): Promise<PredictionOutcome> {
    const { model } = access;
    if (model.status === 'archived') {
      throw new AppError(
        'MODEL_ARCHIVED',
        `Model "${model.name}" version ${model.version} is archived and no longer serves predictions; ` +
          'use an active version or ask its owner to reactivate it',
      );
    }
    const prediction = newPrediction({
      model,
      user: auth.user,
      inputData: input,
      status: options.respondAsync ? 'pending' : 'success',
    });
    const outcome = (): PredictionOutcome => ({
      prediction: toPredictionResponse(prediction),
      queued: options.respondAsync,
      deprecated: model.status === 'deprecated',
    });

    let namedInput: unknown;
    try {
      namedInput = this.checkInput(model, input);
    } catch (err) {
      // The request body itself refused (see checkInput): nothing was attempted, so nothing is recorded.
      if ((err as AppError).code === 'VALIDATION_FAILED') throw err;
      if ((err as AppError).code === 'INVALID_INPUT' && scanInput(input, Infinity).hasNul) {
        prediction.inputData = withoutNul(input);
      }
      this.fail(prediction, describeFailure(err).message);
      await this.record(prediction, 'insert');
      throw err;
    }

    if (options.respondAsync) {
      await this.record(prediction, 'insert');
      try {
        await this.queue.enqueue(prediction.id);
      } catch (err) {
        this.logger.error({ err, predictionId: prediction.id }, 'Could not queue a prediction');
        this.fail(prediction, 'the prediction could not be queued');
        await this.record(prediction, 'complete');
        throw new AppError('DEPENDENCY_UNAVAILABLE', 'The prediction queue is unavailable; try again later');
      }
      return outcome();
    }

    const error = await this.infer(model, prediction, namedInput);
    await this.record(prediction, 'insert');
    if (error !== null) throw error;
    return outcome();
  }

  /**
   * The queue worker's half of `Prefer: respond-async`: runs a pending prediction and records its outcome. A
   * prediction that is gone (its model was deleted) or no longer pending is left alone; a model archived in the
   * meantime fails it.
   */
  @CreateRequestContext<PredictionsService>((service) => service.predictions)
  async runQueued(predictionId: string): Promise<void> {
    const prediction = await this.predictions.findPending(predictionId);
    if (!prediction) return;
    const model = prediction.model;
    if (model.status === 'archived') {
      this.fail(
        prediction,
        `model "${model.name}" version ${model.version} was archived before the prediction ran`,
      );
    } else {
      prediction.status = 'success';
      await this.infer(model, prediction, prediction.inputData);
    }
    await this.record(prediction, 'complete');
  }

  /** Own predictions, or one made on a model the caller owns (admins: any); else 404. */
  async findOne(auth: AuthContext, id: string): Promise<PredictionResponseDto> {
    const prediction = await this.predictions.findVisible(id, {
      userId: auth.user.id,
      isAdmin: auth.user.isAdmin,
    });
    if (!prediction) throw AppError.notFound('Prediction');
    return toPredictionResponse(prediction);
  }

  /** The caller's own predictions, on any model. */
  async listOwn(auth: AuthContext, query: ListPredictionsQueryDto): Promise<Page<PredictionResponseDto>> {
    const filter = { ...toFilter(query), userId: auth.user.id, modelId: query.modelId };
    return mapPage(await this.predictions.list(filter, toPageQuery(query)), toPredictionResponse);
  }

  /** The owner (and admins) see every prediction on the model; a share holder sees only their own. */
  async listForModel(
    auth: AuthContext,
    access: ModelAccess,
    query: ListModelPredictionsQueryDto,
  ): Promise<Page<PredictionResponseDto>> {
    const filter: PredictionFilter = { ...toFilter(query), modelId: access.model.id };
    if (access.permission !== 'owner') filter.userId = auth.user.id;
    return mapPage(await this.predictions.list(filter, toPageQuery(query)), toPredictionResponse);
  }

  // ---------------------------------------------------------------------------------------------------------

  /** Size, then the one-input shortcut, then the model's JSON Schema; returns the input keyed by name. */
  private checkInput(model: Model, input: unknown): unknown {
    const scan = scanInput(input, this.maxElements);
    if (scan.overLimit) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `The input has more than ${this.maxElements} elements, the configured limit per prediction`,
      );
    }
    if (scan.tooDeep) {
      // Nested past the limit of a whole JSON body (`{"input": …}` is one level more): refused as jsonDepthGuard
      // refuses it on the Express route. The fast path leaves the depth to this walk, the one its input gets anyway.
      if (jsonDepth(input, MAX_JSON_DEPTH - 1) > MAX_JSON_DEPTH - 1) throw tooDeepError('The JSON body');
      throw new AppError(
        'INVALID_INPUT',
        `input nests arrays and objects deeper than ${MAX_INPUT_DEPTH} levels`,
      );
    }
    if (scan.hasNul) throw new AppError('INVALID_INPUT', 'input strings and names must not contain U+0000');
    const named = toNamedInput(input, modelInputNames(model));
    const problem = this.validators.forModel(model)?.(named) ?? null;
    if (problem !== null) {
      throw new AppError('INVALID_INPUT', `input does not match the model's input schema: ${problem}`);
    }
    return named;
  }

  /**
   * Runs the engine and writes the outcome onto `prediction` (status, output, time or error message). Returns
   * the error to answer with, or null on success. The time is the engine's wall time rounded up to whole
   * milliseconds (a sub-millisecond run is 1).
   */
  private async infer(model: Model, prediction: Prediction, input: unknown): Promise<Error | null> {
    try {
      const result = await this.engine.predict(this.loadable(model), input);
      prediction.status = 'success';
      prediction.outputData = result.output;
      prediction.inferenceTimeMs = Math.max(0, Math.ceil(result.inferenceTimeMs));
      return null;
    } catch (err) {
      const { error, message } = describeFailure(err);
      if (!(err instanceof AppError))
        this.logger.error({ err, predictionId: prediction.id }, 'Inference crashed');
      this.fail(prediction, message);
      return error;
    }
  }

  /**
   * Writes the outcome with its prediction.success / prediction.failed outbox row (both commit or neither), then
   * counts it in the metrics and wakes the webhook relay.
   */
  private async record(prediction: Prediction, kind: 'insert' | 'complete'): Promise<void> {
    const settled = prediction.status === 'success' || prediction.status === 'failed';
    const { written, claimed } = await this.predictions.write(
      prediction,
      kind,
      settled ? this.events.toRow(this.outcomeEvent(prediction)) : undefined,
    );
    if (!settled || !written) return;
    this.events.committed(claimed);
    this.metrics?.observePrediction(prediction.model.id, prediction.status, prediction.inferenceTimeMs);
  }

  private outcomeEvent(prediction: Prediction): RecordedEvent {
    return {
      type: prediction.status === 'success' ? 'prediction.success' : 'prediction.failed',
      userId: prediction.model.user.id,
      modelId: prediction.model.id,
      data: {
        predictionId: prediction.id,
        modelId: prediction.model.id,
        userId: prediction.user.id,
        status: prediction.status,
        ...(prediction.status === 'success'
          ? { output: prediction.outputData, inferenceTimeMs: prediction.inferenceTimeMs }
          : { errorMessage: prediction.errorMessage }),
        createdAt: prediction.createdAt,
      },
    };
  }

  private fail(prediction: Prediction, message: string): void {
    prediction.status = 'failed';
    prediction.outputData = null;
    prediction.inferenceTimeMs = null;
    prediction.errorMessage = message;
  }

  private loadable(model: Model): LoadableModel {
    const sha256 = model.modelMetadata?.sha256;
    return {
      id: model.id,
      filePath: this.storage.absolutePath(model.filePath),
      sha256: typeof sha256 === 'string' ? sha256 : undefined,
    };
  }
}

function toFilter(query: ListModelPredictionsQueryDto): PredictionFilter {
  const from = query.from === undefined ? undefined : parseInstant('from', query.from);
  const to = query.to === undefined ? undefined : parseInstant('to', query.to);
  if (from && to && from > to) throw new AppError('VALIDATION_FAILED', 'from must not be after to');
  return { status: query.status, from, to };
}
