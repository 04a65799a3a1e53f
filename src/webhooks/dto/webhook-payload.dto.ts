import { ApiProperty } from '@nestjs/swagger';

/**
 * The JSON body of each event type, for the OpenAPI document (the sender builds bodies from the catalogue).
 * Every body is `{type, timestamp, data}`; receivers verify `webhook-signature` over the raw bytes.
 */
const at = '2026-11-26T12:00:00.000Z';
const modelData = {
  modelId: '3f1c7a0e-5b1d-4a53-9a3e-2b7c1d9e8f10',
  name: 'iris-classifier',
  version: 2,
  modelType: 'sklearn',
  status: 'active',
  ownerId: '8c2d0b6e-1f3a-4e5b-9c7d-0a1b2c3d4e5f',
};

export class PredictionSuccessPayloadDto {
  @ApiProperty({ enum: ['prediction.success'] }) type!: 'prediction.success';
  @ApiProperty({ example: at }) timestamp!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      predictionId: 'b7e1c2d3-4f5a-4b6c-8d9e-0f1a2b3c4d5e',
      modelId: modelData.modelId,
      userId: modelData.ownerId,
      status: 'success',
      inferenceTimeMs: 3,
      output: { label: [[1]] },
    },
  })
  data!: Record<string, unknown>;
}

export class PredictionFailedPayloadDto {
  @ApiProperty({ enum: ['prediction.failed'] }) type!: 'prediction.failed';
  @ApiProperty({ example: at }) timestamp!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      predictionId: 'b7e1c2d3-4f5a-4b6c-8d9e-0f1a2b3c4d5e',
      modelId: modelData.modelId,
      userId: modelData.ownerId,
      status: 'failed',
      errorMessage: 'Inference failed: input shape mismatch',
    },
  })
  data!: Record<string, unknown>;
}

export class ModelCreatedPayloadDto {
  @ApiProperty({ enum: ['model.created'] }) type!: 'model.created';
  @ApiProperty({ example: at }) timestamp!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, example: modelData }) data!: Record<
    string,
    unknown
  >;
}

export class ModelUpdatedPayloadDto {
  @ApiProperty({ enum: ['model.updated'] }) type!: 'model.updated';
  @ApiProperty({ example: at }) timestamp!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { ...modelData, changed: ['description', 'status'] },
  })
  data!: Record<string, unknown>;
}

export class ModelDeletedPayloadDto {
  @ApiProperty({ enum: ['model.deleted'] }) type!: 'model.deleted';
  @ApiProperty({ example: at }) timestamp!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, example: modelData }) data!: Record<
    string,
    unknown
  >;
}

export class ModelSharedPayloadDto {
  @ApiProperty({ enum: ['model.shared'] }) type!: 'model.shared';
  @ApiProperty({ example: at }) timestamp!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      shareId: '0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a',
      modelId: modelData.modelId,
      sharedWithUserId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      permission: 'use',
    },
  })
  data!: Record<string, unknown>;
}

export class ModelUnsharedPayloadDto {
  @ApiProperty({ enum: ['model.unshared'] }) type!: 'model.unshared';
  @ApiProperty({ example: at }) timestamp!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      shareId: '0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a',
      modelId: modelData.modelId,
      sharedWithUserId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    },
  })
  data!: Record<string, unknown>;
}

export class WebhookTestPayloadDto {
  @ApiProperty({ enum: ['webhook.test'] }) type!: 'webhook.test';
  @ApiProperty({ example: at }) timestamp!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { webhookId: '5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b', message: 'A test delivery from Modelport' },
  })
  data!: Record<string, unknown>;
}

export const WEBHOOK_PAYLOAD_DTOS = [
  PredictionSuccessPayloadDto,
  PredictionFailedPayloadDto,
  ModelCreatedPayloadDto,
  ModelUpdatedPayloadDto,
  ModelDeletedPayloadDto,
  ModelSharedPayloadDto,
  ModelUnsharedPayloadDto,
  WebhookTestPayloadDto,
];
