import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const OPENAPI_FILE = path.join(ROOT, 'openapi.json');
const run = promisify(execFile);

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string }[];
  requestBody?: {
    content: Record<string, { schema?: Record<string, unknown>; example?: unknown; examples?: unknown }>;
  };
  responses: Record<
    string,
    { description: string; content?: Record<string, { schema?: Record<string, unknown> }> }
  >;
}

type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Record<string, unknown>>; schemas: Record<string, unknown> };
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function operations(doc: Doc): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method, path: p, op })),
  );
}

describe('OpenAPI contract (openapi.json)', () => {
  let generated: string;
  let doc: Doc;

  // Generated exactly as `npm run openapi` does (a child process compiling src/ with the Swagger plugin), so the
  // check never depends on Jest's transform cache.
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'modelport-openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      await run(process.execPath, [path.join(ROOT, 'scripts/openapi.js'), file], {
        cwd: ROOT,
        maxBuffer: 64 * 1024 * 1024,
      });
      generated = readFileSync(file, 'utf8');
      doc = JSON.parse(generated) as Doc;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('the committed openapi.json equals what the code produces (run `npm run openapi` to update it)', () => {
    const committed = readFileSync(OPENAPI_FILE, 'utf8');
    if (committed !== generated) {
      throw new Error(
        'openapi.json is stale: run `npm run openapi` (then `npm run sdk`) and commit the result',
      );
    }
  });

  it('gives every operation a unique camelCase operationId, a summary and one module tag', () => {
    const ids = new Map<string, string>();
    for (const { method, path: p, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${p}`;
      expect({ where, operationId: op.operationId }).toEqual({
        where,
        operationId: expect.stringMatching(/^[a-z][a-zA-Z0-9]*$/),
      });
      expect({ where, duplicateOf: ids.get(op.operationId!) }).toEqual({ where, duplicateOf: undefined });
      ids.set(op.operationId!, where);
      expect({ where, summary: op.summary }).toEqual({ where, summary: expect.stringMatching(/\S/) });
      expect({ where, tags: op.tags?.length }).toEqual({ where, tags: 1 });
    }
    expect(ids.size).toBeGreaterThan(10);
  });

  it('declares both security schemes; every non-public API route accepts either, login-token-only ones a bearer token alone', () => {
    expect(doc.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
    });
    const publicIds = new Set(['register', 'login', 'refreshToken', 'liveness', 'readiness']);
    // @LoginTokenOnly: an API key gets 403 there, so the document offers only the bearer scheme.
    const loginTokenOnlyIds = new Set(['createApiKey', 'listApiKeys', 'revokeApiKey', 'changePassword']);
    for (const { path: p, op } of operations(doc)) {
      expect(Array.isArray(op.security)).toBe(true);
      if (publicIds.has(op.operationId!) || /\/auth\/(google|github)/.test(p)) continue;
      if (loginTokenOnlyIds.has(op.operationId!)) {
        expect({ op: op.operationId, security: op.security }).toEqual({
          op: op.operationId,
          security: [{ bearer: [] }],
        });
        continue;
      }
      expect({ op: op.operationId, security: op.security }).toEqual({
        op: op.operationId,
        security: expect.arrayContaining([{ bearer: [] }, { apiKey: [] }]),
      });
    }
  });

  it('documents every error response in the shared error shape', () => {
    for (const { method, path: p, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${p}`;
      const statuses = Object.keys(op.responses);
      if (op.security?.length)
        expect({ where, has401: statuses.includes('401') }).toEqual({ where, has401: true });
      if (/\{[^}]+\}/.test(p))
        expect({ where, has404: statuses.includes('404') }).toEqual({ where, has404: true });
      if (op.requestBody || op.parameters?.length) {
        expect({ where, has400: statuses.includes('400') }).toEqual({ where, has400: true });
      }
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        expect({ where, status, schema: response.content?.['application/json']?.schema }).toEqual({
          where,
          status,
          schema: { $ref: '#/components/schemas/ErrorResponseDto' },
        });
      }
    }
    expect(doc.components.schemas.ErrorResponseDto).toEqual(
      expect.objectContaining({
        required: expect.arrayContaining(['statusCode', 'error', 'message', 'code', 'requestId']),
      }),
    );
  });

  it('types every JSON request body and every API success body with a named schema', () => {
    for (const { method, path: p, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${p}`;
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        expect({ where, type, ref: media.schema?.$ref }).toEqual({
          where,
          type,
          ref: expect.stringMatching(/^#\/components\/schemas\//),
        });
      }
      if (!p.startsWith('/api/v1/')) continue;
      for (const [status, response] of Object.entries(op.responses)) {
        if (!/^2/.test(status) || status === '204') continue;
        const media = Object.values(response.content ?? {});
        expect({
          where,
          status,
          typed: media.length > 0 && media.every((m) => m.schema !== undefined),
        }).toEqual({
          where,
          status,
          typed: true,
        });
      }
    }
  });

  it('describes the multipart model upload (a binary file part) and gives an example prediction body', () => {
    const uploads = operations(doc).filter((o) => o.op.requestBody?.content['multipart/form-data']);
    expect(uploads.map((o) => `${o.method} ${o.path}`)).toContain('post /api/v1/models');
    for (const upload of uploads) {
      const ref = String(upload.op.requestBody?.content['multipart/form-data']?.schema?.$ref)
        .split('/')
        .pop()!;
      expect(JSON.stringify(doc.components.schemas[ref])).toMatch(/"format":\s*"binary"/);
    }
    const predict = operations(doc).find((o) => o.op.operationId === 'createPrediction');
    expect(predict).toBeDefined();
    const json = predict!.op.requestBody?.content['application/json'];
    const ref = String(json?.schema?.$ref).split('/').pop()!;
    const hasExample =
      json?.example !== undefined ||
      json?.examples !== undefined ||
      JSON.stringify(doc.components.schemas[ref]).includes('"example"');
    expect(hasExample).toBe(true);
  });

  it('passes `redocly lint` with no errors', async () => {
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', 'openapi.json', '--format', 'json'],
      {
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    ).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`redocly lint failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
    });
    const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number } };
    expect(report.totals.errors).toBe(0);
  }, 120_000);
});
