import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import { Page, toPageQuery, PageQueryDto } from '../common/pagination';
import { WebhookEventsService } from '../events/webhook-events.service';
import { INFERENCE_PROVIDER, InferenceProvider } from '../inference/inference.types';
import { ModelSharesService } from '../model-shares/model-shares.service';
import { assertValidJsonSchema } from '../inference/json-schema';
import { AccessEpoch } from '../redis/redis.module';
import { modelFilePath, StorageService, StoredFile } from '../storage/storage.service';
import type {
  CreateModelDto,
  CreateModelVersionDto,
  ListModelsQueryDto,
  UpdateModelDto,
} from './dto/model.dto';
import type { Model } from './model.entity';
import {
  assertJsonObject,
  assertValidModelName,
  isModelType,
  parseJsonField,
  resolveModelType,
} from './model-rules';
import { ModelsRepository } from './models.repository';

/** What multer hands over for the `file` field (memory storage). */
export interface UploadedModelFile {
  buffer: Buffer;
  size: number;
  originalname?: string;
}

export interface ModelFileDownload {
  stream: Readable;
  size: number;
  /** `<name>-v<version>.onnx`: only characters the name rules allow. */
  fileName: string;
}

/** The uploader's metadata lives under this key of `modelMetadata`, apart from what was read from the file. */
export const USER_METADATA_KEY = 'user';

/**
 * Models: upload (with versions), list, update the lifecycle, download and delete. Each write is one method with
 * one explicit transaction (`ModelsRepository.transactional`), so other writes (e.g. an outbox row for webhooks)
 * can join it.
 */
@Injectable()
export class ModelsService {
  private readonly logger = new Logger(ModelsService.name);

  constructor(
    private readonly models: ModelsRepository,
    private readonly storage: StorageService,
    @Inject(INFERENCE_PROVIDER) private readonly inference: InferenceProvider,
    private readonly events: WebhookEventsService,
    private readonly modelShares: ModelSharesService,
    private readonly accessEpoch: AccessEpoch,
  ) {}

  /**
   * Checks the form, loads the file in the engine (422 if it does not), then — in one transaction holding a lock
   * on the owner's name — numbers the version, stores the file by content hash and inserts the row. Nothing is
   * left behind when any step fails.
   */
  async create(auth: AuthContext, file: UploadedModelFile | undefined, dto: CreateModelDto): Promise<Model> {
    assertUploadedFile(file);
    assertValidModelName(dto.name);
    return this.addVersion(auth.user.id, dto.name, file, dto);
  }

  /**
   * The next version of an existing model's name, uploaded by anyone with `edit` on it: the new row belongs to
   * the model's owner, so their shares (which cover every version of the name) apply to it too.
   */
  async createVersion(
    model: Model,
    file: UploadedModelFile | undefined,
    dto: CreateModelVersionDto,
  ): Promise<Model> {
    assertUploadedFile(file);
    return this.addVersion(model.user.id, model.name, file, dto);
  }

  private async addVersion(
    userId: string,
    name: string,
    file: UploadedModelFile,
    dto: CreateModelVersionDto,
  ): Promise<Model> {
    if (dto.modelType !== undefined && !isModelType(dto.modelType))
      resolveModelType(dto.modelType, undefined);
    const inputSchema = parseJsonField('inputSchema', dto.inputSchema);
    const outputSchema = parseJsonField('outputSchema', dto.outputSchema);
    const metadata = parseJsonField('metadata', dto.metadata);
    if (inputSchema !== undefined) assertSchema('inputSchema', inputSchema);
    if (outputSchema !== undefined) assertSchema('outputSchema', outputSchema);
    if (metadata !== undefined) assertJsonObject('metadata', metadata);

    const inspection = await this.inference.inspect(file.buffer);
    const modelType = resolveModelType(dto.modelType, inspection.metadata.producerName);
    const modelMetadata: Record<string, unknown> = { ...inspection.metadata, sha256: inspection.sha256 };
    if (metadata !== undefined) modelMetadata[USER_METADATA_KEY] = metadata;

    const filePath = modelFilePath(inspection.sha256);
    let stored: StoredFile | undefined;
    try {
      return await this.models.transactional(async (tx) => {
        await this.models.lockName(userId, name);
        const latest = await this.models.latestVersion(userId, name);
        // The file's lock keeps a concurrent delete of its last other user from removing it under us.
        await this.models.lockFile(filePath);
        stored = await this.storage.save(file.buffer);
        const created = await this.models.insertModel({
          userId,
          name,
          version: (latest?.version ?? 0) + 1,
          modelType,
          description: dto.description ?? null,
          filePath: stored.relativePath,
          fileSize: stored.size,
          inputSchema: (inputSchema as Record<string, unknown> | undefined) ?? inspection.inputSchema,
          outputSchema: (outputSchema as Record<string, unknown> | undefined) ?? inspection.outputSchema,
          modelMetadata,
          // Strictly after the previous version, so "newest first" is also "highest version first".
          createdAt: new Date(Math.max(Date.now(), (latest?.createdAt.getTime() ?? 0) + 1)),
        });
        await this.events.record(tx, {
          type: 'model.created',
          userId,
          modelId: created.id,
          data: modelEventData(created),
        });
        return created;
      });
    } catch (err) {
      if (stored?.created) await this.removeFileIfUnused(stored.relativePath);
      throw err;
    }
  }

  list(auth: AuthContext, query: ListModelsQueryDto): Promise<Page<Model>> {
    const { status, modelType, name, owned } = query;
    return this.models.listAccessible(auth.user.id, { status, modelType, name, owned }, toPageQuery(query));
  }

  /** Every version of the model's owner and name, newest first. */
  listVersions(model: Model, query: PageQueryDto): Promise<Page<Model>> {
    return this.models.listVersions(model.user.id, model.name, toPageQuery(query));
  }

  /**
   * Description, schemas, the uploader's metadata and status. Archiving or replacing a schema drops the cached
   * inference session, so the next prediction sees the change.
   */
  async update(model: Model, dto: UpdateModelDto): Promise<Model> {
    if (dto.inputSchema) assertSchema('inputSchema', dto.inputSchema);
    if (dto.outputSchema) assertSchema('outputSchema', dto.outputSchema);
    // null restores the schema derived from the file, which is read and inspected again for it.
    const derived =
      dto.inputSchema === null || dto.outputSchema === null
        ? await this.inference.inspect(await this.storage.read(model.filePath))
        : undefined;
    let evict = false;
    await this.models.transactional(async (tx) => {
      if (dto.description !== undefined) model.description = dto.description;
      if (dto.inputSchema !== undefined) {
        model.inputSchema = dto.inputSchema ?? derived!.inputSchema;
        evict = true;
      }
      if (dto.outputSchema !== undefined) {
        model.outputSchema = dto.outputSchema ?? derived!.outputSchema;
        evict = true;
      }
      if (dto.metadata !== undefined) {
        const next: Record<string, unknown> = { ...(model.modelMetadata ?? {}) };
        if (dto.metadata === null) delete next[USER_METADATA_KEY];
        else next[USER_METADATA_KEY] = dto.metadata;
        model.modelMetadata = next;
      }
      if (dto.status !== undefined) {
        if (dto.status === 'archived' && model.status !== 'archived') evict = true;
        model.status = dto.status;
      }
      await this.models.save(model);
      const changed = Object.keys(dto).filter((key) => dto[key as keyof UpdateModelDto] !== undefined);
      await this.events.record(tx, {
        type: 'model.updated',
        userId: model.user.id,
        modelId: model.id,
        data: { ...modelEventData(model), changed },
      });
    });
    if (evict) this.inference.evict(model.id);
    // Status and schemas are what the prediction fast path caches with the model.
    await this.accessEpoch.announceChange('model updated');
    return model;
  }

  async openFile(model: Model): Promise<ModelFileDownload> {
    const { stream, size } = await this.storage.open(model.filePath);
    return { stream, size, fileName: `${model.name}-v${model.version}.onnx` };
  }

  /**
   * Deletes the row (its predictions go with it; its shares move to another version of the name, or go with the
   * last one), the cached session, and the file if no other row uses it.
   */
  async remove(model: Model): Promise<void> {
    await this.models.transactional(async (tx) => {
      // Recorded first: the delete cascades webhooks filtered on this model, so only unfiltered ones hear it.
      await this.events.record(tx, {
        type: 'model.deleted',
        userId: model.user.id,
        modelId: model.id,
        data: modelEventData(model),
      });
      // Shares sit on one version but cover its family: they move to a remaining version, not away.
      await this.modelShares.keepSharesBeforeDeleting(model);
      await this.models.deleteById(model.id);
    });
    this.inference.evict(model.id);
    await this.accessEpoch.announceChange('model deleted');
    try {
      await this.removeFileIfUnused(model.filePath);
    } catch (err) {
      // The model is gone either way; an orphaned file only costs disk space.
      this.logger.warn({ err, filePath: model.filePath }, 'could not remove the file of a deleted model');
    }
  }

  /** Removes a stored file unless a model row still points to it (checked under the file's lock). */
  private async removeFileIfUnused(filePath: string): Promise<void> {
    await this.models.transactional(async () => {
      await this.models.lockFile(filePath);
      if ((await this.models.countByFilePath(filePath)) === 0) await this.storage.remove(filePath);
    });
  }
}

/** What model.* webhook events carry: the model's identity and state, never its file or schemas. */
function modelEventData(model: Model): Record<string, unknown> {
  return {
    modelId: model.id,
    ownerId: model.user.id,
    name: model.name,
    version: model.version,
    modelType: model.modelType,
    status: model.status,
    description: model.description,
  };
}

function assertUploadedFile(file: UploadedModelFile | undefined): asserts file is UploadedModelFile {
  if (!file || !Buffer.isBuffer(file.buffer)) {
    throw new AppError(
      'VALIDATION_FAILED',
      'file is required: send the ONNX file in the multipart field "file"',
    );
  }
  if (file.buffer.length === 0) throw new AppError('VALIDATION_FAILED', 'file is empty');
}

function assertSchema(field: string, schema: unknown): void {
  try {
    assertValidJsonSchema(schema);
  } catch (err) {
    if (err instanceof AppError) throw new AppError(err.code, `${field}: ${err.message}`);
    throw err;
  }
}
