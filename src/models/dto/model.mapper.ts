import { StreamableFile } from '@nestjs/common';
import type { Model } from '../model.entity';
import type { ModelFileDownload } from '../models.service';
import type { ModelResponseDto } from './model.dto';

export function toModelResponse(model: Model): ModelResponseDto {
  return {
    id: model.id,
    name: model.name,
    version: model.version,
    modelType: model.modelType,
    status: model.status,
    description: model.description,
    fileSize: Number(model.fileSize),
    inputSchema: model.inputSchema,
    outputSchema: model.outputSchema,
    modelMetadata: model.modelMetadata,
    userId: model.user.id,
    createdAt: model.createdAt,
    updatedAt: model.updatedAt,
  };
}

/** The download as a streamed response; the file name is built from the validated model name only. */
export function toModelFileResponse(file: ModelFileDownload): StreamableFile {
  return new StreamableFile(file.stream, {
    type: 'application/octet-stream',
    length: file.size,
    disposition: `attachment; filename="${file.fileName}"`,
  });
}
