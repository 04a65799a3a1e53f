import type { AccessEpoch } from '../redis/redis.module';
/* eslint-disable @typescript-eslint/require-await -- the fakes implement async interfaces synchronously */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import type { InferenceProvider, ModelInspection } from '../inference/inference.types';
import type { ModelSharesService } from '../model-shares/model-shares.service';
import { modelFilePath, OpenedFile, StorageService, StoredFile } from '../storage/storage.service';
import type { User } from '../users/user.entity';
import type { CreateModelDto } from './dto/model.dto';
import type { Model } from './model.entity';
import { modelTypeFromProducer } from './model-rules';
import type { ModelsRepository, NewModel } from './models.repository';
import { WebhookEventsService } from '../events/webhook-events.service';
import { ModelsService } from './models.service';

class FakeStorage extends StorageService {
  readonly files = new Map<string, Buffer>();

  async save(bytes: Buffer): Promise<StoredFile> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const relativePath = modelFilePath(sha256);
    const created = !this.files.has(relativePath);
    this.files.set(relativePath, bytes);
    return { relativePath, sha256, size: bytes.length, created };
  }
  absolutePath(relativePath: string): string {
    return `/fake/${relativePath}`;
  }
  async exists(relativePath: string): Promise<boolean> {
    return this.files.has(relativePath);
  }
  async open(relativePath: string): Promise<OpenedFile> {
    const bytes = await this.read(relativePath);
    return { stream: Readable.from([bytes]), size: bytes.length };
  }
  async read(relativePath: string): Promise<Buffer> {
    const bytes = this.files.get(relativePath);
    if (!bytes) throw AppError.notFound('File');
    return bytes;
  }
  async remove(relativePath: string): Promise<void> {
    this.files.delete(relativePath);
  }
}

/** Just enough of ModelsRepository: rows in an array, transactions and locks as plain calls. */
class FakeModelsRepository {
  readonly rows: Model[] = [];
  readonly locks: string[] = [];
  failNextInsert = false;

  transactional<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }
  async lockName(userId: string, name: string): Promise<void> {
    this.locks.push(`name:${userId}:${name}`);
  }
  async lockFile(filePath: string): Promise<void> {
    this.locks.push(`file:${filePath}`);
  }
  async latestVersion(userId: string, name: string) {
    const mine = this.rows.filter((m) => m.user.id === userId && m.name === name);
    if (mine.length === 0) return null;
    const latest = mine.reduce((a, b) => (a.version > b.version ? a : b));
    return { version: latest.version, createdAt: latest.createdAt };
  }
  async insertModel(data: NewModel): Promise<Model> {
    if (this.failNextInsert) {
      this.failNextInsert = false;
      throw new Error('insert failed');
    }
    const { userId, ...rest } = data;
    const model = {
      ...rest,
      id: randomUUID(),
      user: { id: userId },
      status: 'active',
      updatedAt: new Date(),
    };
    this.rows.push(model as unknown as Model);
    return model as unknown as Model;
  }
  async save(model: Model): Promise<Model> {
    return model;
  }
  async deleteById(id: string): Promise<void> {
    const index = this.rows.findIndex((m) => m.id === id);
    if (index >= 0) this.rows.splice(index, 1);
  }
  async countByFilePath(filePath: string): Promise<number> {
    return this.rows.filter((m) => m.filePath === filePath).length;
  }
}

class FakeInference implements InferenceProvider {
  producerName = 'skl2onnx';
  failWith: AppError | null = null;
  inspected = 0;
  readonly evicted: string[] = [];

  async inspect(bytes: Buffer): Promise<ModelInspection> {
    this.inspected += 1;
    if (this.failWith) throw this.failWith;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const input = { name: 'x', elementType: 'float32' as const, shape: ['N', 2] };
    return {
      sha256,
      inputs: [input],
      outputs: [],
      metadata: {
        producerName: this.producerName,
        producerVersion: '1.0',
        irVersion: 7,
        graphInputs: [input],
        sha256,
      },
      inputSchema: { type: 'object', derived: true },
      outputSchema: { type: 'object', derived: true },
    };
  }
  predict(): never {
    throw new Error('not used');
  }
  evict(modelId: string): void {
    this.evicted.push(modelId);
  }
  stats() {
    return { models: 0, bytes: 0 };
  }
}

describe('ModelsService', () => {
  let repo: FakeModelsRepository;
  let storage: FakeStorage;
  let inference: FakeInference;
  let service: ModelsService;
  let sharesKept: string[] = [];
  const alice = { user: { id: 'user-alice' } as User } as AuthContext;
  const bob = { user: { id: 'user-bob' } as User } as AuthContext;
  const file = (text = 'model bytes') => ({ buffer: Buffer.from(text), size: text.length });
  const form = (fields: Partial<CreateModelDto> = {}): CreateModelDto => ({ name: 'iris', ...fields });

  beforeEach(() => {
    repo = new FakeModelsRepository();
    storage = new FakeStorage();
    inference = new FakeInference();
    sharesKept = [];
    const shares = { keepSharesBeforeDeleting: async (m: Model) => void sharesKept.push(m.id) };
    service = new ModelsService(
      repo as unknown as ModelsRepository,
      storage,
      inference,
      { record: async () => 'event-id' } as unknown as WebhookEventsService,
      shares as unknown as ModelSharesService,
      { announceChange: async () => undefined } as unknown as AccessEpoch,
    );
  });

  async function expectAppError(promise: Promise<unknown>, code: string): Promise<AppError> {
    const err = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(code);
    return err as AppError;
  }

  describe('modelType', () => {
    it.each([
      ['skl2onnx', 'sklearn'],
      ['OnnxMLTools', 'sklearn'],
      ['tf2onnx', 'tensorflow'],
      ['keras2onnx', 'tensorflow'],
      ['pytorch', 'pytorch'],
    ])('infers it from the producer %s', async (producerName, expected) => {
      inference.producerName = producerName;
      const model = await service.create(alice, file(), form());
      expect(model.modelType).toBe(expected);
      expect(modelTypeFromProducer(producerName)).toBe(expected);
    });

    it('keeps a given modelType over the producer', async () => {
      inference.producerName = 'pytorch';
      expect((await service.create(alice, file(), form({ modelType: 'sklearn' }))).modelType).toBe('sklearn');
    });

    it('refuses an unknown given modelType before loading the file', async () => {
      await expectAppError(
        service.create(alice, file(), form({ modelType: 'xgboost' })),
        'INVALID_MODEL_TYPE',
      );
      expect(inference.inspected).toBe(0);
    });

    it('refuses a producer it cannot place when no modelType is given, storing nothing', async () => {
      inference.producerName = 'CNTK';
      const err = await expectAppError(service.create(alice, file(), form()), 'INVALID_MODEL_TYPE');
      expect(err.message).toContain('CNTK');
      expect(repo.rows).toHaveLength(0);
      expect(storage.files.size).toBe(0);
    });
  });

  describe('name', () => {
    it.each(['', 'a/b', '..', '../x', 'a..b', 'a b', 'naïve', 'x'.repeat(101), 'a\\b'])(
      'refuses %j before loading the file',
      async (name) => {
        await expectAppError(service.create(alice, file(), form({ name })), 'VALIDATION_FAILED');
        expect(inference.inspected).toBe(0);
      },
    );

    it.each(['iris', 'Iris_v2.onnx', 'a', 'x'.repeat(100), 'my-model.1', '.hidden'])(
      'accepts %j',
      async (name) => {
        expect((await service.create(alice, file(), form({ name }))).name).toBe(name);
      },
    );
  });

  describe('versions', () => {
    it('numbers uploads of one owner and name 1, 2, 3, separately per owner and name', async () => {
      const versions = [];
      for (let i = 0; i < 3; i++) versions.push((await service.create(alice, file(`v${i}`), form())).version);
      expect(versions).toEqual([1, 2, 3]);
      expect((await service.create(bob, file(), form())).version).toBe(1);
      expect((await service.create(alice, file(), form({ name: 'other' }))).version).toBe(1);
    });

    it("adds a version of another owner's model under that owner and name", async () => {
      const v1 = await service.create(alice, file(), form());
      const v2 = await service.createVersion(v1, file('next'), {});
      expect(v2).toMatchObject({ name: 'iris', version: 2, user: { id: 'user-alice' } });
      await expectAppError(service.createVersion(v1, undefined, {}), 'VALIDATION_FAILED');
    });

    it('numbers under the name lock and stores under the file lock, newest created last', async () => {
      const first = await service.create(alice, file('a'), form());
      const second = await service.create(alice, file('a'), form());
      expect(repo.locks).toEqual([
        'name:user-alice:iris',
        `file:${first.filePath}`,
        'name:user-alice:iris',
        `file:${first.filePath}`,
      ]);
      expect(second.filePath).toBe(first.filePath);
      expect(second.createdAt.getTime()).toBeGreaterThan(first.createdAt.getTime());
    });
  });

  describe('create', () => {
    it('stores nothing when the engine refuses the file', async () => {
      inference.failWith = new AppError('MODEL_LOAD_FAILED', 'protobuf parsing failed');
      await expectAppError(service.create(alice, file(), form()), 'MODEL_LOAD_FAILED');
      expect(repo.rows).toHaveLength(0);
      expect(storage.files.size).toBe(0);
    });

    it('removes a newly stored file when the insert fails', async () => {
      repo.failNextInsert = true;
      await expect(service.create(alice, file(), form())).rejects.toThrow('insert failed');
      expect(storage.files.size).toBe(0);
    });

    it('keeps an already used file when the insert of another row fails', async () => {
      await service.create(alice, file('same'), form());
      repo.failNextInsert = true;
      await expect(service.create(bob, file('same'), form())).rejects.toThrow('insert failed');
      expect(storage.files.size).toBe(1);
    });

    it('requires a file', async () => {
      await expectAppError(service.create(alice, undefined, form()), 'VALIDATION_FAILED');
    });

    it('takes given schemas, derives missing ones, and keeps uploader metadata under "user"', async () => {
      const model = await service.create(
        alice,
        file(),
        form({ inputSchema: '{"type":"object"}', metadata: '{"sha256":"mine","team":"ml"}' }),
      );
      expect(model.inputSchema).toEqual({ type: 'object' });
      expect(model.outputSchema).toEqual({ type: 'object', derived: true });
      expect(model.modelMetadata).toMatchObject({
        producerName: 'skl2onnx',
        user: { sha256: 'mine', team: 'ml' },
      });
      expect(model.modelMetadata?.sha256).toMatch(/^[0-9a-f]{64}$/);
    });

    it.each([
      [{ inputSchema: '{' }, 'VALIDATION_FAILED'],
      [{ metadata: 'null' }, 'VALIDATION_FAILED'],
      [{ outputSchema: '{"type":"tensor"}' }, 'INVALID_SCHEMA'],
    ])('refuses %j', async (fields, code) => {
      await expectAppError(service.create(alice, file(), form(fields)), code);
      expect(inference.inspected).toBe(0);
    });
  });

  describe('update and remove', () => {
    it('evicts the cached session when archiving or replacing a schema, not for a description', async () => {
      const model = await service.create(alice, file(), form());
      await service.update(model, { description: 'new' });
      await service.update(model, { status: 'deprecated' });
      expect(inference.evicted).toEqual([]);
      await service.update(model, { status: 'archived' });
      expect(inference.evicted).toEqual([model.id]);
      await service.update(model, { outputSchema: { type: 'object' } });
      expect(inference.evicted).toEqual([model.id, model.id]);
      expect(model).toMatchObject({
        status: 'archived',
        description: 'new',
        outputSchema: { type: 'object' },
      });
    });

    it('replaces and clears the uploader metadata without touching what was read from the file', async () => {
      const model = await service.create(alice, file(), form({ metadata: '{"a":1}' }));
      await service.update(model, { metadata: { b: 2 } });
      expect(model.modelMetadata).toMatchObject({ producerName: 'skl2onnx', user: { b: 2 } });
      await service.update(model, { metadata: null });
      expect(model.modelMetadata).not.toHaveProperty('user');
      expect(model.modelMetadata).toHaveProperty('producerName', 'skl2onnx');
    });

    it('deletes the file only with the last row that uses it, and evicts the session', async () => {
      const v1 = await service.create(alice, file('shared bytes'), form());
      const v2 = await service.create(alice, file('shared bytes'), form());
      await service.remove(v1);
      expect(inference.evicted).toEqual([v1.id]);
      expect(sharesKept).toEqual([v1.id]);
      expect(storage.files.has(v1.filePath)).toBe(true);
      await service.remove(v2);
      expect(storage.files.has(v1.filePath)).toBe(false);
      expect(repo.rows).toHaveLength(0);
    });

    it('names the download <name>-v<version>.onnx', async () => {
      await service.create(alice, file(), form({ name: 'iris.model' }));
      const v2 = await service.create(alice, file(), form({ name: 'iris.model' }));
      const download = await service.openFile(v2);
      expect(download.fileName).toBe('iris.model-v2.onnx');
      expect(download.size).toBe(file().size);
    });
  });
});
