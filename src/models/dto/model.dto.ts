import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { IsOmittable } from '../../common/validation';
import { PageQueryDto } from '../../common/pagination';
import { MODEL_STATUSES, MODEL_TYPES, ModelStatus, ModelType } from '../model.entity';
import { MODEL_NAME_PATTERN } from '../model-rules';

/** Browsers and Swagger UI send empty strings for blank form fields: treat them as absent. */
const blankToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

const JSON_OBJECT = { type: 'object', additionalProperties: true } as const;

/**
 * The multipart form of `POST /models`. The JSON fields arrive as text (multipart has no JSON); the service
 * parses and checks them. The file itself is taken by multer, not by this DTO.
 */
export class CreateModelDto {
  @ApiProperty({ type: 'string', format: 'binary', required: true, description: 'The ONNX model file.' })
  @IsOptional()
  file?: unknown;

  /** Letters, digits, `-`, `_` and `.`, no `..`. Uploading a name you already have adds a version. */
  @ApiProperty({ pattern: MODEL_NAME_PATTERN, minLength: 1, maxLength: 100, example: 'iris-classifier' })
  @IsString()
  @MaxLength(1000)
  name!: string;

  /** @example "Logistic regression on the iris data set" */
  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  @MaxLength(10_000)
  description?: string;

  /** When absent, inferred from the file's producer (skl2onnx/OnnxMLTools, tf2onnx/keras2onnx, pytorch). */
  @ApiPropertyOptional({ enum: MODEL_TYPES })
  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  @MaxLength(100)
  modelType?: string;

  /** JSON text: a JSON Schema (draft-07) for prediction inputs. Derived from the graph when absent. */
  @ApiPropertyOptional({ example: '{"type":"object"}' })
  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  inputSchema?: string;

  /** JSON text: a JSON Schema (draft-07) for prediction outputs. Derived from the graph when absent. */
  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  outputSchema?: string;

  /** JSON text: an object of your own, kept under `modelMetadata.user`. */
  @ApiPropertyOptional({ example: '{"trainedOn":"2026-01-01"}' })
  @IsOptional()
  @Transform(blankToUndefined)
  @IsString()
  metadata?: string;
}

/** `POST /models/{id}/versions`: the name (and owner) come from the model. */
export class CreateModelVersionDto extends OmitType(CreateModelDto, ['name'] as const) {}

/**
 * `PATCH /models/{id}`. Not a PartialType of CreateModelDto: the upload is a multipart form with JSON as text,
 * this is a JSON body; name, type and file are fixed once uploaded (upload again for a new version).
 */
export class UpdateModelDto {
  /** null clears it. */
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsString()
  @MaxLength(10_000)
  description?: string | null;

  /** `deprecated` models still serve (with a Deprecation header); `archived` models refuse predictions. */
  @ApiPropertyOptional({ enum: MODEL_STATUSES })
  @IsOmittable()
  @IsIn([...MODEL_STATUSES])
  status?: ModelStatus;

  /** Replaces the input JSON Schema (draft-07); null restores the one derived from the file. */
  @ApiPropertyOptional({ ...JSON_OBJECT, nullable: true })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsObject()
  inputSchema?: Record<string, unknown> | null;

  /** Replaces the output JSON Schema (draft-07); null restores the one derived from the file. */
  @ApiPropertyOptional({ ...JSON_OBJECT, nullable: true })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsObject()
  outputSchema?: Record<string, unknown> | null;

  /** Replaces your own metadata (`modelMetadata.user`); null removes it. */
  @ApiPropertyOptional({ ...JSON_OBJECT, nullable: true })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsObject()
  metadata?: Record<string, unknown> | null;
}

const toBool = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

export class ListModelsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: MODEL_STATUSES })
  @IsOptional()
  @IsIn([...MODEL_STATUSES])
  status?: ModelStatus;

  @ApiPropertyOptional({ enum: MODEL_TYPES })
  @IsOptional()
  @IsIn([...MODEL_TYPES])
  modelType?: ModelType;

  /** Exact model name: all its versions. */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  name?: string;

  /** true: only your own models; false: only models shared with you; absent: both. */
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  owned?: boolean;
}

export class ModelResponseDto {
  id!: string;
  name!: string;
  /** 1, 2, 3… per owner and name. */
  @ApiProperty({ type: 'integer' })
  version!: number;
  @ApiProperty({ enum: MODEL_TYPES })
  modelType!: ModelType;
  @ApiProperty({ enum: MODEL_STATUSES })
  status!: ModelStatus;
  description!: string | null;
  /** Bytes. */
  @ApiProperty({ type: 'integer' })
  fileSize!: number;
  /** JSON Schema (draft-07) of `input` in a prediction. */
  @ApiProperty({ ...JSON_OBJECT, nullable: true })
  inputSchema!: Record<string, unknown> | null;
  /** JSON Schema (draft-07) of `output` in a prediction. */
  @ApiProperty({ ...JSON_OBJECT, nullable: true })
  outputSchema!: Record<string, unknown> | null;
  /**
   * Read from the file: producerName, producerVersion, irVersion, opsets, graphInputs, graphOutputs (name,
   * elementType, shape with symbolic dimensions), sha256, and more; the uploader's own metadata is under `user`.
   */
  @ApiProperty({ ...JSON_OBJECT, nullable: true })
  modelMetadata!: Record<string, unknown> | null;
  /** The owner. */
  userId!: string;
  createdAt!: Date;
  updatedAt!: Date;
}

export class ModelPageDto {
  @Type(() => ModelResponseDto)
  items!: ModelResponseDto[];
  nextCursor!: string | null;
}
