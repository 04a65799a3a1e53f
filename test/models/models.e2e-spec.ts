import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createTestApp, expectErrorShape, registerUser, RegisteredUser, TestApp } from '../support/test-app';

// Booting an app with its own database takes a while on a busy machine.
jest.setTimeout(120_000);

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'models');
const LOADABLE = [
  'skl-linreg',
  'skl-logreg-zipmap',
  'skl-rf-strlabel',
  'skl-labelenc-str',
  'skl-pipeline-mixed',
  'tf-keras-mlp9',
  'pt-mnist-mlp',
  'pt-tiny-multiio',
  'tf-keras-genre14',
];

interface Manifest {
  origin: string;
  producer_name: string;
  producer_version: string;
  ir_version: number;
  inputs: Array<{ name: string; type: string }>;
  outputs: Array<{ name: string; type: string }>;
}

const modelBytes = (name: string): Buffer => readFileSync(path.join(FIXTURES, name, 'model.onnx'));
/** A fixture with one string swapped for another of the same length (the protobuf stays valid, the bytes differ). */
const variant = (name: string, from: string, to: string): Buffer => {
  const text = modelBytes(name).toString('latin1');
  if (from.length !== to.length || !text.includes(from)) throw new Error(`cannot make a variant of ${name}`);
  return Buffer.from(text.replace(from, to), 'latin1');
};
const manifest = (name: string): Manifest =>
  JSON.parse(readFileSync(path.join(FIXTURES, name, 'manifest.json'), 'utf8')) as Manifest;

const ONNX_TYPES: Record<string, string> = {
  FLOAT: 'float32',
  DOUBLE: 'float64',
  INT32: 'int32',
  INT64: 'int64',
  STRING: 'string',
  BOOL: 'bool',
  UINT8: 'uint8',
};

/** `tensor(FLOAT)[N,2]` → `{ elementType: 'float32', shape: ['N', 2] }` */
function parseTensorType(type: string): { elementType: string; shape: Array<number | string> } {
  const match = /^tensor\((\w+)\)\[(.*)\]$/.exec(type);
  if (!match) throw new Error(`unexpected manifest type ${type}`);
  return {
    elementType: ONNX_TYPES[match[1]] ?? match[1],
    shape: match[2].split(',').map((d) => (/^\d+$/.test(d) ? Number(d) : d)),
  };
}

/** Every file under the storage root, relative paths. */
function storedFiles(t: TestApp): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path.join(dir, entry.name), rel);
      else out.push(rel);
    }
  };
  walk(t.config.storageDir, '');
  return out.sort();
}

describe('models (e2e)', () => {
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await registerUser(t, 'alice');
    bob = await registerUser(t, 'bob');
  });
  afterAll(async () => {
    await t.close();
  });

  const auth = (u: RegisteredUser) => `Bearer ${u.accessToken}`;

  function upload(
    u: RegisteredUser,
    fields: Record<string, string>,
    file?: { bytes: Buffer; filename?: string },
  ) {
    let req = t.http().post('/api/v1/models').set('Authorization', auth(u));
    for (const [key, value] of Object.entries(fields)) req = req.field(key, value);
    if (file) req = req.attach('file', file.bytes, file.filename ?? 'model.onnx');
    return req;
  }

  async function uploadFixture(u: RegisteredUser, fixture: string, fields: Record<string, string> = {}) {
    const res = await upload(u, { name: fixture, ...fields }, { bytes: modelBytes(fixture) });
    if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { id: string; name: string; version: number; [k: string]: unknown };
  }

  const rows = async (sql: string, params: unknown[] = []) =>
    t.orm.em.getConnection().execute<Array<Record<string, unknown>>>(sql, params);
  const modelRowCount = async (userId: string) =>
    Number((await rows('select count(*)::int as n from models where user_id = ?', [userId]))[0].n);

  async function share(
    modelId: string,
    ownerId: string,
    withUserId: string,
    permission: 'view' | 'use' | 'edit',
  ) {
    await rows(
      'insert into model_shares (model_id, owner_id, shared_with_user_id, permission) values (?, ?, ?, ?)',
      [modelId, ownerId, withUserId, permission],
    );
  }

  describe('upload', () => {
    it.each(LOADABLE)('uploads %s with derived schemas, metadata and inferred modelType', async (fixture) => {
      const u = await registerUser(t, 'uploader');
      const m = manifest(fixture);
      const bytes = modelBytes(fixture);
      const res = await upload(u, { name: fixture, description: `the ${fixture} fixture` }, { bytes });
      expect(res.status).toBe(201);
      const body = res.body;
      expect(Object.keys(body).sort()).toEqual(
        [
          'id',
          'name',
          'version',
          'modelType',
          'status',
          'description',
          'fileSize',
          'inputSchema',
          'outputSchema',
          'modelMetadata',
          'userId',
          'createdAt',
          'updatedAt',
        ].sort(),
      );
      expect(body).toMatchObject({
        name: fixture,
        version: 1,
        modelType: m.origin,
        status: 'active',
        description: `the ${fixture} fixture`,
        fileSize: bytes.length,
        userId: u.id,
      });
      const meta = body.modelMetadata;
      expect(meta.producerName).toBe(m.producer_name);
      expect(meta.producerVersion).toBe(m.producer_version);
      expect(meta.irVersion).toBe(m.ir_version);
      expect(meta.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(meta.opsets).toEqual(
        expect.arrayContaining([expect.objectContaining({ version: expect.any(Number) })]),
      );
      expect(meta.graphInputs).toEqual(
        m.inputs.map((i) => expect.objectContaining({ name: i.name, ...parseTensorType(i.type) })),
      );
      expect(meta.graphOutputs.map((o: { name: string }) => o.name)).toEqual(m.outputs.map((o) => o.name));
      expect(body.inputSchema).toMatchObject({ type: 'object', required: m.inputs.map((i) => i.name) });
      expect(Object.keys(body.inputSchema.properties)).toEqual(m.inputs.map((i) => i.name));
      expect(body.outputSchema).toMatchObject({ type: 'object' });

      const [row] = await rows('select file_path, file_size, model_type from models where id = ?', [body.id]);
      expect(row.file_path).toBe(`${meta.sha256.slice(0, 2)}/${meta.sha256}.onnx`);
      expect(Number(row.file_size)).toBe(bytes.length);
      expect(readFileSync(path.join(t.config.storageDir, row.file_path as string)).equals(bytes)).toBe(true);
    });

    it('keeps a given modelType over the inferred one, and given schemas and metadata', async () => {
      const inputSchema = { type: 'object', properties: { input: { type: 'array' } }, required: ['input'] };
      const outputSchema = { type: 'object' };
      const res = await upload(
        alice,
        {
          name: 'given-fields',
          modelType: 'pytorch',
          inputSchema: JSON.stringify(inputSchema),
          outputSchema: JSON.stringify(outputSchema),
          metadata: JSON.stringify({ team: 'ml', producerName: 'not the file' }),
        },
        { bytes: modelBytes('skl-linreg'), filename: '../../etc/passwd' },
      );
      expect(res.status).toBe(201);
      expect(res.body.modelType).toBe('pytorch');
      expect(res.body.inputSchema).toEqual(inputSchema);
      expect(res.body.outputSchema).toEqual(outputSchema);
      expect(res.body.modelMetadata.user).toEqual({ team: 'ml', producerName: 'not the file' });
      expect(res.body.modelMetadata.producerName).toBe('OnnxMLTools');
      expect(res.body.description).toBeNull();
      expect(storedFiles(t).some((f) => f.includes('passwd'))).toBe(false);
    });

    it('treats a blank modelType as absent and infers it', async () => {
      const u = await registerUser(t, 'blank-type');
      const res = await upload(
        u,
        { name: 'blank', modelType: '', description: '' },
        { bytes: modelBytes('tf-keras-mlp9') },
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ modelType: 'tensorflow', description: null });
    });

    it('refuses an unauthenticated upload with 401', async () => {
      const res = await t
        .http()
        .post('/api/v1/models')
        .field('name', 'x')
        .attach('file', modelBytes('skl-linreg'), 'm');
      expectErrorShape(res.body, 401);
    });
  });

  describe('bad uploads leave no row and no file', () => {
    let u: RegisteredUser;
    let before: string[];
    beforeAll(async () => {
      u = await registerUser(t, 'bad');
    });
    beforeEach(() => {
      before = storedFiles(t);
    });
    afterEach(async () => {
      expect(await modelRowCount(u.id)).toBe(0);
      expect(storedFiles(t)).toEqual(before);
    });

    it('a file that is not ONNX → 422', async () => {
      const res = await upload(
        u,
        { name: 'junk' },
        { bytes: Buffer.from('this is not an onnx model at all') },
      );
      expect(res.status).toBe(422);
      expectErrorShape(res.body, 422, 'MODEL_LOAD_FAILED');
    });

    it('a truncated ONNX file (first half of a real one) → 422', async () => {
      const bytes = modelBytes('pt-tiny-multiio');
      const res = await upload(
        u,
        { name: 'half' },
        { bytes: bytes.subarray(0, Math.floor(bytes.length / 2)) },
      );
      expectErrorShape(res.body, 422, 'MODEL_LOAD_FAILED');
    });

    it('onnx-strnorm-str, which the engine cannot load → 422 with the engine reason', async () => {
      const res = await upload(u, { name: 'strnorm' }, { bytes: modelBytes('onnx-strnorm-str') });
      expectErrorShape(res.body, 422, 'MODEL_LOAD_FAILED');
      expect(res.body.message).toMatch(/locale/i);
    });

    it('no file → 400', async () => {
      const res = await upload(u, { name: 'nofile' });
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toMatch(/file/);
    });

    it('an empty file → 400', async () => {
      const res = await upload(u, { name: 'empty' }, { bytes: Buffer.alloc(0) });
      expect(res.status).toBe(400);
    });

    it('an unknown modelType → 400', async () => {
      const res = await upload(
        u,
        { name: 'typed', modelType: 'xgboost' },
        { bytes: modelBytes('skl-linreg') },
      );
      expectErrorShape(res.body, 400, 'INVALID_MODEL_TYPE');
    });

    it.each(['a/b', '..', '../etc', 'x..y', 'with space', '', 'ü', 'x'.repeat(101)])(
      'the name %j → 400',
      async (name) => {
        const res = await upload(u, { name }, { bytes: modelBytes('skl-linreg') });
        expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      },
    );

    it('no name → 400', async () => {
      const res = await upload(u, {}, { bytes: modelBytes('skl-linreg') });
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
    });

    it.each(['inputSchema', 'outputSchema', 'metadata'])('%s that is not JSON → 400', async (field) => {
      const res = await upload(
        u,
        { name: 'json', [field]: '{"type": ' },
        { bytes: modelBytes('skl-linreg') },
      );
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toContain(field);
    });

    it('metadata nested thousands deep → 400, not a 500', async () => {
      const metadata = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
      const res = await upload(u, { name: 'deep-meta', metadata }, { bytes: modelBytes('skl-linreg') });
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.message).toBe('metadata nests arrays and objects deeper than 64 levels');
    });

    it('metadata that is not an object → 400', async () => {
      const res = await upload(u, { name: 'meta', metadata: '[1,2]' }, { bytes: modelBytes('skl-linreg') });
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
    });

    it.each([
      ['inputSchema', '{"type": "tensor"}'],
      ['outputSchema', '{"minItems": -1}'],
      ['inputSchema', '"a string"'],
      // patterns run on RE2 (linear time), which has no backreferences or lookaround
      ['inputSchema', '{"properties": {"x": {"type": "string", "pattern": "^(a)\\\\1$"}}}'],
      ['inputSchema', '{"patternProperties": {"(?=a)a": {"type": "number"}}}'],
    ])('%s %s that is not a JSON Schema → 400 INVALID_SCHEMA', async (field, text) => {
      const res = await upload(u, { name: 'schema', [field]: text }, { bytes: modelBytes('skl-linreg') });
      expectErrorShape(res.body, 400, 'INVALID_SCHEMA');
    });

    it('a producer that names no known converter, without modelType → 400', async () => {
      // skl-linreg with its producer_name rewritten (same length, so the protobuf stays valid)
      const bytes = variant('skl-linreg', 'OnnxMLTools', 'HandWritten');
      const res = await upload(u, { name: 'unknown-producer' }, { bytes });
      expectErrorShape(res.body, 400, 'INVALID_MODEL_TYPE');
      expect(res.body.message).toContain('HandWritten');
    });

    it('a JSON body instead of multipart → 415', async () => {
      const res = await t
        .http()
        .post('/api/v1/models')
        .set('Authorization', auth(u))
        .send({ name: 'json-body' });
      expectErrorShape(res.body, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('a raw octet-stream body → 415', async () => {
      const res = await t
        .http()
        .post('/api/v1/models')
        .set('Authorization', auth(u))
        .set('Content-Type', 'application/octet-stream')
        .send(modelBytes('skl-linreg'));
      expectErrorShape(res.body, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('two files → 400', async () => {
      const res = await t
        .http()
        .post('/api/v1/models')
        .set('Authorization', auth(u))
        .field('name', 'two')
        .attach('file', modelBytes('skl-linreg'), 'a.onnx')
        .attach('file', modelBytes('skl-linreg'), 'b.onnx');
      expect(res.status).toBe(400);
    });

    it('an unknown form field → 400', async () => {
      const res = await upload(u, { name: 'extra', owner: 'someone' }, { bytes: modelBytes('skl-linreg') });
      expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
    });
  });

  describe('versions', () => {
    it('numbers uploads of the same name 1, 2, 3 per owner and lists them newest first', async () => {
      const u = await registerUser(t, 'versions');
      const v1 = await uploadFixture(u, 'skl-linreg', { name: 'house-prices' });
      const v2 = await uploadFixture(u, 'skl-linreg', { name: 'house-prices' });
      const v3 = await uploadFixture(u, 'tf-keras-mlp9', { name: 'house-prices' });
      expect([v1.version, v2.version, v3.version]).toEqual([1, 2, 3]);
      // Another owner's name is numbered on its own.
      const other = await uploadFixture(bob, 'skl-linreg', { name: 'house-prices' });
      expect(other.version).toBe(1);
      // Another name of the same owner too.
      expect((await uploadFixture(u, 'skl-linreg', { name: 'other-name' })).version).toBe(1);

      const res = await t.http().get(`/api/v1/models/${v1.id}/versions`).set('Authorization', auth(u));
      expect(res.status).toBe(200);
      expect(res.body.items.map((m: { version: number }) => m.version)).toEqual([3, 2, 1]);
      expect(res.body.items.map((m: { id: string }) => m.id)).toEqual([v3.id, v2.id, v1.id]);
      expect(res.body.nextCursor).toBeNull();

      const page1 = await t
        .http()
        .get(`/api/v1/models/${v2.id}/versions?limit=2`)
        .set('Authorization', auth(u));
      expect(page1.body.items.map((m: { version: number }) => m.version)).toEqual([3, 2]);
      const page2 = await t
        .http()
        .get(`/api/v1/models/${v2.id}/versions?limit=2&cursor=${page1.body.nextCursor}`)
        .set('Authorization', auth(u));
      expect(page2.body.items.map((m: { version: number }) => m.version)).toEqual([1]);
      expect(page2.body.nextCursor).toBeNull();
    });

    it('gives 5 concurrent uploads of one name the versions 1..5 without errors', async () => {
      const u = await registerUser(t, 'concurrent');
      const fixtures = ['skl-linreg', 'skl-linreg', 'tf-keras-mlp9', 'skl-labelenc-str', 'skl-linreg'];
      const results = await Promise.all(
        fixtures.map((f) => upload(u, { name: 'race' }, { bytes: modelBytes(f) })),
      );
      expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
      expect(results.map((r) => r.body.version as number).sort()).toEqual([1, 2, 3, 4, 5]);
      const db = await rows('select version from models where user_id = ? and name = ? order by version', [
        u.id,
        'race',
      ]);
      expect(db.map((r) => r.version)).toEqual([1, 2, 3, 4, 5]);
      // Three uploads of the same bytes share one stored file.
      const paths = await rows('select distinct file_path from models where user_id = ?', [u.id]);
      expect(paths).toHaveLength(3);
    });

    it('POST /models/{id}/versions adds a version for the owner or an edit share, owned by the owner', async () => {
      const v1 = await uploadFixture(alice, 'skl-linreg', { name: 'team-model' });
      const editor = await registerUser(t, 'version-editor');
      const viewer = await registerUser(t, 'version-viewer');
      await share(v1.id, alice.id, editor.id, 'edit');
      await share(v1.id, alice.id, viewer.id, 'view');
      const addVersion = (u: RegisteredUser, fields: Record<string, string> = {}) => {
        let req = t.http().post(`/api/v1/models/${v1.id}/versions`).set('Authorization', auth(u));
        for (const [key, value] of Object.entries(fields)) req = req.field(key, value);
        return req.attach('file', modelBytes('skl-linreg'), 'model.onnx');
      };

      const byOwner = await addVersion(alice, { description: 'second' });
      expect(byOwner.status).toBe(201);
      expect(byOwner.body).toMatchObject({
        name: 'team-model',
        version: 2,
        userId: alice.id,
        description: 'second',
      });
      const byEditor = await addVersion(editor);
      expect(byEditor.status).toBe(201);
      expect(byEditor.body).toMatchObject({
        name: 'team-model',
        version: 3,
        userId: alice.id,
        modelType: 'sklearn',
      });
      expectErrorShape((await addVersion(viewer)).body, 403, 'INSUFFICIENT_PERMISSION');
      expectErrorShape((await addVersion(bob)).body, 404, 'NOT_FOUND');
      expectErrorShape((await addVersion(alice, { name: 'renamed' })).body, 400, 'VALIDATION_FAILED');
      const versions = await rows(
        'select version from models where user_id = ? and name = ? order by version',
        [alice.id, 'team-model'],
      );
      expect(versions.map((r) => r.version)).toEqual([1, 2, 3]);
      // The editor's share of version 1 covers the version they uploaded.
      const mine = await t
        .http()
        .get(`/api/v1/models/${byEditor.body.id}`)
        .set('Authorization', auth(editor));
      expect(mine.status).toBe(200);
    });

    it('lists the versions for someone the model is shared with (view)', async () => {
      const v1 = await uploadFixture(alice, 'skl-linreg', { name: 'shared-versions' });
      const v2 = await uploadFixture(alice, 'skl-linreg', { name: 'shared-versions' });
      const carol = await registerUser(t, 'carol');
      await share(v1.id, alice.id, carol.id, 'view');
      const res = await t.http().get(`/api/v1/models/${v2.id}/versions`).set('Authorization', auth(carol));
      expect(res.status).toBe(200);
      expect(res.body.items.map((m: { id: string }) => m.id)).toEqual([v2.id, v1.id]);
    });
  });

  describe('read, update, download', () => {
    it('GET /models/{id} for the owner; 404 for another user; 400 for a non-UUID', async () => {
      const m = await uploadFixture(alice, 'skl-linreg', { name: 'readable' });
      const own = await t.http().get(`/api/v1/models/${m.id}`).set('Authorization', auth(alice));
      expect(own.status).toBe(200);
      expect(own.body).toEqual(m);
      const other = await t.http().get(`/api/v1/models/${m.id}`).set('Authorization', auth(bob));
      expectErrorShape(other.body, 404, 'NOT_FOUND');
      const missing = await t
        .http()
        .get('/api/v1/models/00000000-0000-4000-8000-000000000000')
        .set('Authorization', auth(alice));
      expectErrorShape(missing.body, 404, 'NOT_FOUND');
      const bad = await t.http().get('/api/v1/models/not-a-uuid').set('Authorization', auth(alice));
      expectErrorShape(bad.body, 400);
    });

    it('PATCH persists deprecated and archived status, description, schemas and metadata', async () => {
      const m = await uploadFixture(alice, 'skl-linreg', {
        name: 'lifecycle',
        metadata: JSON.stringify({ owner: 'team-a' }),
      });
      const patch = (body: object) =>
        t.http().patch(`/api/v1/models/${m.id}`).set('Authorization', auth(alice)).send(body);

      const deprecated = await patch({ status: 'deprecated', description: 'use v2' });
      expect(deprecated.status).toBe(200);
      expect(deprecated.body).toMatchObject({ status: 'deprecated', description: 'use v2' });
      expect(new Date(deprecated.body.updatedAt).getTime()).toBeGreaterThanOrEqual(
        new Date(m.updatedAt as string).getTime(),
      );
      expect((await rows('select status from models where id = ?', [m.id]))[0].status).toBe('deprecated');

      const schema = { type: 'object', properties: { input: { type: 'array', minItems: 1 } } };
      const archived = await patch({
        status: 'archived',
        inputSchema: schema,
        metadata: { owner: 'team-b' },
        description: null,
      });
      expect(archived.status).toBe(200);
      expect(archived.body).toMatchObject({ status: 'archived', inputSchema: schema, description: null });
      expect(archived.body.modelMetadata.user).toEqual({ owner: 'team-b' });
      expect(archived.body.modelMetadata.sha256).toBe((m.modelMetadata as { sha256: string }).sha256);
      const [row] = await rows('select status, input_schema, description from models where id = ?', [m.id]);
      expect(row).toEqual({ status: 'archived', input_schema: schema, description: null });

      const cleared = await patch({ metadata: null });
      expect(cleared.body.modelMetadata.user).toBeUndefined();
      expect(cleared.body.modelMetadata.producerName).toBe('OnnxMLTools');

      const again = await t.http().get(`/api/v1/models/${m.id}`).set('Authorization', auth(alice));
      expect(again.body.status).toBe('archived');
    });

    it('PATCH with a null schema restores the one derived from the file', async () => {
      const m = await uploadFixture(alice, 'pt-tiny-multiio', { name: 'schema-reset' });
      const patch = (body: object) =>
        t.http().patch(`/api/v1/models/${m.id}`).set('Authorization', auth(alice)).send(body);
      const replaced = await patch({ inputSchema: { type: 'object' }, outputSchema: { type: 'object' } });
      expect(replaced.body.inputSchema).toEqual({ type: 'object' });
      const restored = await patch({ inputSchema: null, outputSchema: null });
      expect(restored.status).toBe(200);
      expect(restored.body.inputSchema).toEqual(m.inputSchema);
      expect(restored.body.outputSchema).toEqual(m.outputSchema);
    });

    it('PATCH refuses bad input with 400', async () => {
      const m = await uploadFixture(alice, 'skl-linreg', { name: 'patch-bad' });
      const patch = (body: object) =>
        t.http().patch(`/api/v1/models/${m.id}`).set('Authorization', auth(alice)).send(body);
      expectErrorShape((await patch({ status: 'deleted' })).body, 400, 'VALIDATION_FAILED');
      expectErrorShape((await patch({ inputSchema: { type: 'tensor' } })).body, 400, 'INVALID_SCHEMA');
      const backreference = { type: 'object', properties: { x: { type: 'string', pattern: '^(a)\\1$' } } };
      const refused = await patch({ inputSchema: backreference });
      expectErrorShape(refused.body, 400, 'INVALID_SCHEMA');
      expect(refused.body.message).toContain('backreference');
      expectErrorShape((await patch({ outputSchema: 'x' })).body, 400, 'VALIDATION_FAILED');
      expectErrorShape((await patch({ name: 'renamed' })).body, 400, 'VALIDATION_FAILED');
      expectErrorShape((await patch({ metadata: [1] })).body, 400, 'VALIDATION_FAILED');
      expectErrorShape((await patch({ status: null })).body, 400, 'VALIDATION_FAILED');
      for (const field of ['metadata', 'inputSchema']) {
        const res = await t
          .http()
          .patch(`/api/v1/models/${m.id}`)
          .set('Authorization', auth(alice))
          .set('Content-Type', 'application/json')
          .send(`{"${field}":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`);
        expectErrorShape(res.body, 400, 'VALIDATION_FAILED');
        expect(res.body.message).toBe('The JSON body nests arrays and objects deeper than 64 levels');
      }
      const [row] = await rows('select status, name from models where id = ?', [m.id]);
      expect(row).toEqual({ status: 'active', name: 'patch-bad' });
    });

    it('PATCH: another user gets 404, a view share 403, an edit share may', async () => {
      const m = await uploadFixture(alice, 'skl-linreg', { name: 'guarded' });
      const stranger = await t
        .http()
        .patch(`/api/v1/models/${m.id}`)
        .set('Authorization', auth(bob))
        .send({ status: 'archived' });
      expectErrorShape(stranger.body, 404, 'NOT_FOUND');

      const viewer = await registerUser(t, 'viewer');
      await share(m.id, alice.id, viewer.id, 'view');
      const asViewer = await t
        .http()
        .patch(`/api/v1/models/${m.id}`)
        .set('Authorization', auth(viewer))
        .send({ status: 'archived' });
      expectErrorShape(asViewer.body, 403, 'INSUFFICIENT_PERMISSION');
      expect((await t.http().get(`/api/v1/models/${m.id}`).set('Authorization', auth(viewer))).status).toBe(
        200,
      );

      const editor = await registerUser(t, 'editor');
      await share(m.id, alice.id, editor.id, 'edit');
      const asEditor = await t
        .http()
        .patch(`/api/v1/models/${m.id}`)
        .set('Authorization', auth(editor))
        .send({ status: 'deprecated' });
      expect(asEditor.status).toBe(200);
      const del = await t.http().delete(`/api/v1/models/${m.id}`).set('Authorization', auth(editor));
      expectErrorShape(del.body, 403, 'INSUFFICIENT_PERMISSION');
      expect((await rows('select status from models where id = ?', [m.id]))[0].status).toBe('deprecated');
    });

    it('GET /models/{id}/file streams the exact bytes with a safe file name', async () => {
      const bytes = modelBytes('pt-tiny-multiio');
      const m = await uploadFixture(alice, 'pt-tiny-multiio', { name: 'download.me' });
      const res = await t
        .http()
        .get(`/api/v1/models/${m.id}/file`)
        .set('Authorization', auth(alice))
        .buffer(true)
        .parse((response, callback) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => callback(null, Buffer.concat(chunks)));
        });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(res.headers['content-length']).toBe(String(bytes.length));
      expect(res.headers['content-disposition']).toBe('attachment; filename="download.me-v1.onnx"');
      expect((res.body as Buffer).equals(bytes)).toBe(true);

      const other = await t.http().get(`/api/v1/models/${m.id}/file`).set('Authorization', auth(bob));
      expectErrorShape(other.body, 404, 'NOT_FOUND');
    });
  });

  describe('list', () => {
    let owner: RegisteredUser;
    let reader: RegisteredUser;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      owner = await registerUser(t, 'lister');
      reader = await registerUser(t, 'reader');
      ids.lin = (await uploadFixture(owner, 'skl-linreg', { name: 'lin' })).id;
      ids.mlp = (await uploadFixture(owner, 'tf-keras-mlp9', { name: 'mlp' })).id;
      ids.tiny = (await uploadFixture(owner, 'pt-tiny-multiio', { name: 'tiny' })).id;
      ids.tiny2 = (await uploadFixture(owner, 'pt-tiny-multiio', { name: 'tiny' })).id;
      ids.readerOwn = (await uploadFixture(reader, 'skl-linreg', { name: 'mine' })).id;
      ids.notShared = (await uploadFixture(bob, 'skl-linreg', { name: 'bobs' })).id;
      // A share of version 1 covers version 2 as well.
      await share(ids.tiny, owner.id, reader.id, 'view');
      await t
        .http()
        .patch(`/api/v1/models/${ids.mlp}`)
        .set('Authorization', auth(owner))
        .send({ status: 'deprecated' })
        .expect(200);
    });

    const list = (u: RegisteredUser, query = '') =>
      t.http().get(`/api/v1/models${query}`).set('Authorization', auth(u));
    const idsOf = (body: { items: Array<{ id: string }> }) => body.items.map((m) => m.id);

    it('lists own models newest first', async () => {
      const res = await list(owner);
      expect(res.status).toBe(200);
      expect(idsOf(res.body)).toEqual([ids.tiny2, ids.tiny, ids.mlp, ids.lin]);
      expect(res.body.nextCursor).toBeNull();
    });

    it('includes models shared with the caller (every version of the shared name)', async () => {
      expect(idsOf((await list(reader)).body)).toEqual([ids.readerOwn, ids.tiny2, ids.tiny]);
      expect(idsOf((await list(reader, '?owned=true')).body)).toEqual([ids.readerOwn]);
      expect(idsOf((await list(reader, '?owned=false')).body)).toEqual([ids.tiny2, ids.tiny]);
      expect(idsOf((await list(bob)).body)).not.toContain(ids.tiny);
    });

    it('filters by status, modelType and name', async () => {
      expect(idsOf((await list(owner, '?status=deprecated')).body)).toEqual([ids.mlp]);
      expect(idsOf((await list(owner, '?status=active')).body)).toEqual([ids.tiny2, ids.tiny, ids.lin]);
      expect(idsOf((await list(owner, '?modelType=sklearn')).body)).toEqual([ids.lin]);
      expect(idsOf((await list(owner, '?modelType=pytorch&name=tiny')).body)).toEqual([ids.tiny2, ids.tiny]);
      expect(idsOf((await list(owner, '?name=ti')).body)).toEqual([]);
    });

    it('paginates with a cursor', async () => {
      const page1 = await list(owner, '?limit=3');
      expect(idsOf(page1.body)).toEqual([ids.tiny2, ids.tiny, ids.mlp]);
      expect(page1.body.nextCursor).toEqual(expect.any(String));
      const page2 = await list(owner, `?limit=3&cursor=${page1.body.nextCursor}`);
      expect(idsOf(page2.body)).toEqual([ids.lin]);
      expect(page2.body.nextCursor).toBeNull();
    });

    it('refuses bad filters with 400', async () => {
      expectErrorShape((await list(owner, '?status=gone')).body, 400, 'VALIDATION_FAILED');
      expectErrorShape((await list(owner, '?modelType=xgboost')).body, 400, 'VALIDATION_FAILED');
      expectErrorShape((await list(owner, '?owned=maybe')).body, 400, 'VALIDATION_FAILED');
      expectErrorShape((await list(owner, '?cursor=nonsense')).body, 400, 'VALIDATION_FAILED');
      expectErrorShape((await list(owner, '?limit=0')).body, 400, 'VALIDATION_FAILED');
    });
  });

  describe('delete', () => {
    it('removes the row, its shares and predictions, and the file once no version uses it', async () => {
      const u = await registerUser(t, 'deleter');
      // Bytes no other test uploads, so only these two versions use the stored file.
      const bytes = variant('skl-rf-strlabel', '1.3.1', '7.7.7');
      const v1 = (await upload(u, { name: 'to-delete' }, { bytes }).expect(201)).body as { id: string };
      const v2 = (await upload(u, { name: 'to-delete' }, { bytes }).expect(201)).body as { id: string };
      const [{ file_path: filePath }] = await rows('select file_path from models where id = ?', [v1.id]);
      const file = path.join(t.config.storageDir, filePath as string);
      expect(storedFiles(t)).toContain(filePath);
      await share(v1.id, u.id, bob.id, 'use');
      await rows(
        "insert into predictions (model_id, user_id, input_data, status) values (?, ?, '{}'::jsonb, 'failed')",
        [v1.id, u.id],
      );

      const res = await t.http().delete(`/api/v1/models/${v1.id}`).set('Authorization', auth(u));
      expect(res.status).toBe(204);
      expect(await rows('select id from models where id = ?', [v1.id])).toHaveLength(0);
      expect(await rows('select id from model_shares where model_id = ?', [v1.id])).toHaveLength(0);
      // The share covered the family: it now sits on v2, so bob still sees v2.
      expect(await rows('select id from model_shares where model_id = ?', [v2.id])).toHaveLength(1);
      expect((await t.http().get(`/api/v1/models/${v2.id}`).set('Authorization', auth(bob))).status).toBe(
        200,
      );
      expect(await rows('select id from predictions where model_id = ?', [v1.id])).toHaveLength(0);
      // v2 has the same bytes: the file stays.
      expect(readFileSync(file).equals(bytes)).toBe(true);
      const gone = await t.http().get(`/api/v1/models/${v1.id}`).set('Authorization', auth(u));
      expectErrorShape(gone.body, 404, 'NOT_FOUND');

      expect((await t.http().delete(`/api/v1/models/${v2.id}`).set('Authorization', auth(u))).status).toBe(
        204,
      );
      expect(storedFiles(t)).not.toContain(filePath);
      expect(await modelRowCount(u.id)).toBe(0);
      expect(await rows('select id from model_shares where owner_id = ?', [u.id])).toHaveLength(0);
    });

    it('keeps the file while another owner has the same bytes', async () => {
      const a = await registerUser(t, 'same-a');
      const b = await registerUser(t, 'same-b');
      const ma = await uploadFixture(a, 'skl-pipeline-mixed');
      await uploadFixture(b, 'skl-pipeline-mixed');
      const [{ file_path: filePath }] = await rows('select file_path from models where id = ?', [ma.id]);
      expect((await t.http().delete(`/api/v1/models/${ma.id}`).set('Authorization', auth(a))).status).toBe(
        204,
      );
      expect(storedFiles(t)).toContain(filePath);
    });

    it('another user gets 404 and nothing is deleted', async () => {
      const m = await uploadFixture(alice, 'skl-linreg', { name: 'not-yours' });
      const res = await t.http().delete(`/api/v1/models/${m.id}`).set('Authorization', auth(bob));
      expectErrorShape(res.body, 404, 'NOT_FOUND');
      expect(await rows('select id from models where id = ?', [m.id])).toHaveLength(1);
    });
  });
});
