import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, IsDefined, IsIn, IsISO8601, IsOptional, IsUUID } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { Prediction, PREDICTION_STATUSES, PredictionStatus } from '../prediction.entity';

export class CreatePredictionDto {
  /**
   * `{"<input name>": <nested array>}`, or a bare nested array for a one-input model. Checked against the
   * model's `inputSchema`, then by the engine (names, shapes, element types).
   */
  @ApiProperty({
    oneOf: [
      { type: 'object', additionalProperties: { type: 'array', items: {} } },
      { type: 'array', items: {} },
    ],
    example: { input: [[5.1, 3.5, 1.4, 0.2]] },
  })
  @IsDefined()
  @Allow()
  input!: unknown;
}

export class PredictionResponseDto {
  id!: string;
  modelId!: string;
  /** Who asked for it. */
  userId!: string;
  /** `pending` (queued with `Prefer: respond-async`), `success` or `failed`. */
  @ApiProperty({ enum: PREDICTION_STATUSES })
  status!: PredictionStatus;
  /** The input exactly as it was sent. */
  @ApiProperty({ oneOf: [{ type: 'object' }, { type: 'array', items: {} }] })
  input!: unknown;
  /**
   * `{"<output name>": <nested array>}`; ZipMap classifiers give one `{label: probability}` object per row.
   * Null unless the status is `success`.
   */
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true })
  output!: Record<string, unknown> | null;
  /** Wall time of the engine runs in whole milliseconds, rounded up. Null unless the status is `success`. */
  inferenceTimeMs!: number | null;
  /** Why it failed (the same message the caller got). Null unless the status is `failed`. */
  errorMessage!: string | null;
  createdAt!: Date;
}

export function toPredictionResponse(prediction: Prediction): PredictionResponseDto {
  return {
    id: prediction.id,
    modelId: prediction.model.id,
    userId: prediction.user.id,
    status: prediction.status,
    input: prediction.inputData,
    output: (prediction.outputData as Record<string, unknown> | null) ?? null,
    inferenceTimeMs: prediction.inferenceTimeMs,
    errorMessage: prediction.errorMessage,
    createdAt: prediction.createdAt,
  };
}

export class PredictionPageDto {
  @Type(() => PredictionResponseDto)
  items!: PredictionResponseDto[];
  nextCursor!: string | null;
}

/** Filters of `GET /models/{id}/predictions`. */
export class ListModelPredictionsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: PREDICTION_STATUSES })
  @IsOptional()
  @IsIn(PREDICTION_STATUSES)
  status?: PredictionStatus;

  /** Only predictions created at or after this instant (ISO 8601). @example "2026-01-01T00:00:00Z" */
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  /** Only predictions created before this instant (ISO 8601, exclusive). @example "2026-02-01T00:00:00Z" */
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

/** Filters of `GET /predictions`. */
export class ListPredictionsQueryDto extends ListModelPredictionsQueryDto {
  /** Only predictions of this model. */
  @IsOptional()
  @IsUUID()
  modelId?: string;
}
