import { EntityRepository } from '@mikro-orm/core';
import type { ConfigService } from '@nestjs/config';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import type { AppConfig } from '../config/app.config';
import type { WebhookEventsService } from '../events/webhook-events.service';
import { deriveInputSchema } from '../inference/json-schema';
import type { ModelAccess } from '../model-shares/model-access.service';
import { Model } from '../models/model.entity';
import type { StorageService } from '../storage/storage.service';
import { User } from '../users/user.entity';
import { parseCreatePredictionBody } from './prediction-body';
import { Prediction } from './prediction.entity';
import { MAX_INPUT_DEPTH, prefersRespondAsync, scanInput, toNamedInput } from './prediction-input';
import type { PredictionQueue } from './prediction-queue';
import type { PredictionsRepository } from './predictions.repository';
import { PredictionsService } from './predictions.service';
import { InputValidators } from './input-validators';

const SHA = 'ab'.repeat(32);

function makeModel(overrides: Partial<Model> = {}): Model {
  const owner = Object.assign(new User(), { id: 'owner-1' });
  return Object.assign(new Model(), {
    id: 'model-1',
    name: 'linreg',
    version: 1,
    user: owner,
    filePath: `ab/${SHA}.onnx`,
    status: 'active',
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    inputSchema: deriveInputSchema([{ name: 'input', elementType: 'float32', shape: ['N', 2] }]),
    modelMetadata: { sha256: SHA, graphInputs: [{ name: 'input', elementType: 'float32', shape: ['N', 2] }] },
    ...overrides,
  });
}

interface Written {
  kind: 'insert' | 'complete';
  status: string;
  output: unknown;
  inferenceTimeMs: number | null;
  errorMessage: string | null;
  input: unknown;
}

function setup(options: { maxElements?: number } = {}) {
  const writes: Written[] = [];
  const events: Array<{ type: string; userId: string }> = [];
  const fakeEm = { name: 'default', fork: () => fakeEm };
  const pending: { prediction: Prediction | null } = { prediction: null };
  const repo = Object.assign(Object.create(EntityRepository.prototype) as object, {
    getEntityManager: () => fakeEm,
    write: jest.fn((p: Prediction, kind: 'insert' | 'complete', event?: { type: string; userId: string }) => {
      writes.push({
        kind,
        status: p.status,
        output: p.outputData,
        inferenceTimeMs: p.inferenceTimeMs,
        errorMessage: p.errorMessage,
        input: p.inputData,
      });
      // The outbox row handed over with the prediction is what the webhooks hear.
      if (event) events.push({ type: event.type, userId: event.userId });
      return Promise.resolve(true);
    }),
    findPending: jest.fn(() => Promise.resolve(pending.prediction)),
  }) as unknown as PredictionsRepository;
  const engine = { predict: jest.fn(), inspect: jest.fn(), evict: jest.fn(), stats: jest.fn() };
  const storage = { absolutePath: (p: string) => `/store/${p}` } as unknown as StorageService;
  const queue = { enqueue: jest.fn(() => Promise.resolve()) };
  const webhookEvents = {
    toRow: (e: { type: string; userId: string }) => ({ ...e, id: 'event-1' }),
    committed: jest.fn(),
  };
  const config = {
    get: () => ({ jsonBodyBytes: 1024, uploadBytes: 1024, inputElements: options.maxElements ?? 100 }),
  } as unknown as ConfigService<AppConfig, true>;
  const service = new PredictionsService(
    repo,
    engine,
    storage,
    new InputValidators(),
    queue as unknown as PredictionQueue,
    webhookEvents as unknown as WebhookEventsService,
    config,
  );
  const caller = Object.assign(new User(), { id: 'caller-1', isAdmin: false });
  const auth: AuthContext = { user: caller };
  return { service, engine, queue, writes, events, auth, pending, repo };
}

const access = (model: Model): ModelAccess => ({ model, permission: 'use' });

describe('PredictionsService.create', () => {
  it('runs the engine on the stored file and records one success row, time rounded up to whole ms', async () => {
    const { service, engine, writes, events, auth } = setup();
    engine.predict.mockResolvedValue({ output: { variable: [[1.5]] }, inferenceTimeMs: 0.2 });
    const outcome = await service.create(auth, access(makeModel()), [[1, 2]], { respondAsync: false });
    expect(engine.predict).toHaveBeenCalledWith(
      { id: 'model-1', filePath: `/store/ab/${SHA}.onnx`, sha256: SHA },
      { input: [[1, 2]] },
    );
    expect(outcome).toMatchObject({
      queued: false,
      deprecated: false,
      prediction: { status: 'success', output: { variable: [[1.5]] }, inferenceTimeMs: 1, input: [[1, 2]] },
    });
    expect(writes).toEqual([
      {
        kind: 'insert',
        status: 'success',
        output: { variable: [[1.5]] },
        inferenceTimeMs: 1,
        errorMessage: null,
        input: [[1, 2]],
      },
    ]);
    expect(events).toEqual([{ type: 'prediction.success', userId: 'owner-1' }]);
  });

  it('refuses an input that fails the schema with 400 before inference, and records it as failed', async () => {
    const { service, engine, writes, events, auth } = setup();
    const error = await service
      .create(auth, access(makeModel()), { input: [[1, 'x']] }, { respondAsync: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('INVALID_INPUT');
    expect((error as AppError).message).toMatch(/input "input" at \[0\]\[1\]/);
    expect(engine.predict).not.toHaveBeenCalled();
    expect(writes).toEqual([
      expect.objectContaining({
        kind: 'insert',
        status: 'failed',
        errorMessage: (error as AppError).message,
      }),
    ]);
    expect(events).toEqual([{ type: 'prediction.failed', userId: 'owner-1' }]);
  });

  it('refuses more elements than the limit with 413 and records it as failed', async () => {
    const { service, engine, writes, auth } = setup({ maxElements: 5 });
    const error = await service
      .create(
        auth,
        access(makeModel()),
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        { respondAsync: false },
      )
      .catch((e: unknown) => e);
    expect((error as AppError).code).toBe('PAYLOAD_TOO_LARGE');
    expect((error as AppError).status).toBe(413);
    expect(engine.predict).not.toHaveBeenCalled();
    expect(writes).toEqual([expect.objectContaining({ status: 'failed' })]);
  });

  it('refuses an archived model with 409 and records nothing', async () => {
    const { service, engine, writes, auth } = setup();
    await expect(
      service.create(auth, access(makeModel({ status: 'archived' })), [[1, 2]], { respondAsync: false }),
    ).rejects.toMatchObject({ code: 'MODEL_ARCHIVED', message: expect.stringMatching(/archived/) });
    expect(engine.predict).not.toHaveBeenCalled();
    expect(writes).toEqual([]);
  });

  it('flags a deprecated model but still runs it', async () => {
    const { service, engine, auth } = setup();
    engine.predict.mockResolvedValue({ output: { y: [[1]] }, inferenceTimeMs: 2.5 });
    const outcome = await service.create(auth, access(makeModel({ status: 'deprecated' })), [[1, 2]], {
      respondAsync: false,
    });
    expect(outcome.deprecated).toBe(true);
    expect(outcome.prediction.inferenceTimeMs).toBe(3);
  });

  it.each([
    [
      'a timeout',
      new AppError('INFERENCE_TIMEOUT', 'inference took longer than 5 ms'),
      'inference took longer than 5 ms',
    ],
    ['an engine failure', new AppError('INFERENCE_FAILED', 'Gemm failed'), 'Gemm failed'],
  ])('records %s as failed and rethrows it', async (_label, thrown, message) => {
    const { service, engine, writes, auth } = setup();
    engine.predict.mockRejectedValue(thrown);
    await expect(service.create(auth, access(makeModel()), [[1, 2]], { respondAsync: false })).rejects.toBe(
      thrown,
    );
    expect(writes).toEqual([
      {
        kind: 'insert',
        status: 'failed',
        output: null,
        inferenceTimeMs: null,
        errorMessage: message,
        input: [[1, 2]],
      },
    ]);
  });

  it('records an unexpected crash with a generic message (no internals) and rethrows it', async () => {
    const { service, engine, writes, auth } = setup();
    const crash = new TypeError('cannot read x of undefined');
    engine.predict.mockRejectedValue(crash);
    await expect(service.create(auth, access(makeModel()), [[1, 2]], { respondAsync: false })).rejects.toBe(
      crash,
    );
    expect(writes[0]).toMatchObject({
      status: 'failed',
      errorMessage: 'internal error while running the model',
    });
  });

  it('queues with respond-async: inserts a pending row, enqueues its id, does not run the engine', async () => {
    const { service, engine, queue, writes, events, auth } = setup();
    const outcome = await service.create(auth, access(makeModel()), [[1, 2]], { respondAsync: true });
    expect(outcome.queued).toBe(true);
    expect(outcome.prediction.status).toBe('pending');
    expect(queue.enqueue).toHaveBeenCalledWith(outcome.prediction.id);
    expect(engine.predict).not.toHaveBeenCalled();
    expect(writes).toEqual([expect.objectContaining({ kind: 'insert', status: 'pending' })]);
    expect(events).toEqual([]);
  });

  it('fails the pending row and answers 503 when the queue is down', async () => {
    const { service, queue, writes, auth } = setup();
    queue.enqueue.mockRejectedValue(new Error('ECONNREFUSED'));
    await expect(
      service.create(auth, access(makeModel()), [[1, 2]], { respondAsync: true }),
    ).rejects.toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
    });
    expect(writes.map((w) => [w.kind, w.status])).toEqual([
      ['insert', 'pending'],
      ['complete', 'failed'],
    ]);
  });

  it('validates with the schema of the model, compiled once per model and updatedAt', () => {
    const validators = new InputValidators(2);
    const model = makeModel();
    const first = validators.forModel(model);
    expect(validators.forModel(model)).toBe(first);
    const edited = makeModel({ updatedAt: new Date('2026-02-01T00:00:00Z') });
    expect(validators.forModel(edited)).not.toBe(first);
    validators.forModel(makeModel({ id: 'model-2' }));
    expect(validators.size).toBe(2); // bounded: the oldest went
    expect(validators.forModel(makeModel({ inputSchema: null }))).toBeNull();
  });

  it('answers a stored schema that no longer compiles (a lookahead from before RE2) as the model being unusable (422)', () => {
    const model = makeModel({
      inputSchema: { type: 'object', properties: { text: { type: 'string', pattern: '^(?!\\s*$).+' } } },
    });
    let error: unknown;
    try {
      new InputValidators().forModel(model);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      message: expect.stringMatching(/PATCH \/models\/model-1/),
    });
  });
});

describe('PredictionsService.runQueued', () => {
  function pendingPrediction(model: Model): Prediction {
    return Object.assign(new Prediction(), {
      model,
      user: Object.assign(new User(), { id: 'caller-1' }),
      inputData: [[1, 2]],
      status: 'pending',
    });
  }

  it('runs a pending prediction and completes it', async () => {
    const { service, engine, writes, events, pending } = setup();
    pending.prediction = pendingPrediction(makeModel());
    engine.predict.mockResolvedValue({ output: { y: [[3]] }, inferenceTimeMs: 4 });
    await service.runQueued(pending.prediction.id);
    expect(engine.predict).toHaveBeenCalledWith(expect.objectContaining({ id: 'model-1' }), [[1, 2]]);
    expect(writes).toEqual([
      expect.objectContaining({
        kind: 'complete',
        status: 'success',
        output: { y: [[3]] },
        inferenceTimeMs: 4,
      }),
    ]);
    expect(events).toEqual([{ type: 'prediction.success', userId: 'owner-1' }]);
  });

  it('fails it when the model was archived meanwhile, without running the engine', async () => {
    const { service, engine, writes, pending } = setup();
    pending.prediction = pendingPrediction(makeModel({ status: 'archived' }));
    await service.runQueued(pending.prediction.id);
    expect(engine.predict).not.toHaveBeenCalled();
    expect(writes).toEqual([
      expect.objectContaining({
        kind: 'complete',
        status: 'failed',
        errorMessage: expect.stringMatching(/archived/),
      }),
    ]);
  });

  it('leaves a prediction that is gone or no longer pending alone', async () => {
    const { service, engine, writes } = setup();
    await service.runQueued('missing');
    expect(engine.predict).not.toHaveBeenCalled();
    expect(writes).toEqual([]);
  });
});

describe('prediction input helpers', () => {
  it('counts leaves and stops once over the limit', () => {
    expect(scanInput({ a: [[1, 2], [3]], b: ['x'] }, 10)).toEqual({
      elements: 4,
      overLimit: false,
      hasNul: false,
      tooDeep: false,
    });
    expect(scanInput([[1, 2, 3]], 2)).toMatchObject({ overLimit: true });
    expect(scanInput({ 'a\u0000': [1] }, 10).hasNul).toBe(true);
  });

  it('refuses an input nested deeper than MAX_INPUT_DEPTH, without overflowing the stack', () => {
    const nested = (levels: number, leaf: unknown = 1): unknown => {
      let value = leaf;
      for (let i = 0; i < levels; i++) value = [value];
      return value;
    };
    expect(scanInput(nested(MAX_INPUT_DEPTH), 10)).toEqual({
      elements: 1,
      overLimit: false,
      hasNul: false,
      tooDeep: false,
    });
    expect(scanInput(nested(MAX_INPUT_DEPTH + 1), 10).tooDeep).toBe(true);
    expect(scanInput({ x: nested(MAX_INPUT_DEPTH - 1) }, 10).tooDeep).toBe(false);
    expect(scanInput({ x: nested(MAX_INPUT_DEPTH) }, 10).tooDeep).toBe(true);
    expect(scanInput(nested(100_000), 10).tooDeep).toBe(true);
  });

  it('wraps a bare array for a one-input model and refuses it for a multi-input one', () => {
    expect(toNamedInput([[1]], ['x'])).toEqual({ x: [[1]] });
    expect(toNamedInput({ x: [[1]] }, ['x'])).toEqual({ x: [[1]] });
    expect(() => toNamedInput([[1]], ['a', 'b'])).toThrow(/2 inputs \("a", "b"\)/);
  });

  it.each([
    ['respond-async', true],
    ['Respond-Async', true],
    ['wait=10, respond-async', true],
    ['respond-async; foo=bar', true],
    ['return=minimal', false],
    [undefined, false],
  ])('Prefer %p → %p', (prefer, expected) => {
    expect(prefersRespondAsync(prefer)).toBe(expected);
  });
});

describe('parseCreatePredictionBody', () => {
  it.each([[{ x: [[1]] }], [[[1, 2]]], [42], ['text'], [false]])(
    'accepts any JSON input (%p) without copying it',
    (input) => {
      const body = { input };
      expect(parseCreatePredictionBody(body).input).toBe(input);
    },
  );

  it.each([
    [{}, /input should not be null or undefined/],
    [{ input: null }, /input should not be null or undefined/],
    [{ input: [1], extra: true }, /property extra should not exist/],
    [JSON.parse('{"input": [1], "__proto__": {"polluted": true}}') as object, /__proto__ should not exist/],
    [[1, 2], /JSON object/],
    [null, /JSON object/],
  ])('refuses %p with VALIDATION_FAILED', (body, message) => {
    expect(() => parseCreatePredictionBody(body)).toThrow(message);
    try {
      parseCreatePredictionBody(body);
    } catch (err) {
      expect((err as AppError).code).toBe('VALIDATION_FAILED');
    }
  });
});
