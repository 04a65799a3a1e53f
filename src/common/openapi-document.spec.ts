import type { OpenAPIObject } from '@nestjs/swagger';
import { completeOpenApiDocument, serializeOpenApiDocument } from './openapi-document';

function doc(paths: OpenAPIObject['paths'], schemas: Record<string, unknown> = {}): OpenAPIObject {
  return {
    openapi: '3.0.0',
    info: { title: 't', version: '1' },
    paths,
    components: { schemas: schemas as never },
  };
}

const ERROR_REF = { $ref: '#/components/schemas/ErrorResponseDto' };
const secured: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

describe('completeOpenApiDocument', () => {
  it("adds 400/401/404/413 error responses in the shared shape from the operation's input, security and path", () => {
    const result = completeOpenApiDocument(
      doc({
        '/things/{id}': {
          patch: {
            operationId: 'updateThing',
            security: secured,
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/X' } } } },
            responses: { '200': { description: '' } },
          },
        },
      }),
    );
    const responses = result.paths['/things/{id}'].patch!.responses as Record<
      string,
      {
        description: string;
        content?: Record<string, { schema: unknown; example: { statusCode: number; code: string } }>;
      }
    >;
    expect(Object.keys(responses).sort()).toEqual(['200', '400', '401', '404', '413']);
    expect(responses['200'].description).toBe('OK');
    for (const status of ['400', '401', '404', '413']) {
      const json = responses[status].content!['application/json'];
      expect(json.schema).toEqual(ERROR_REF);
      expect(json.example.statusCode).toBe(Number(status));
    }
  });

  it('marks a public operation with `security: []` and adds no 401 or 404 to it', () => {
    const result = completeOpenApiDocument(
      doc({ '/ping': { get: { operationId: 'ping', responses: { '200': { description: 'ok' } } } } }),
    );
    const op = result.paths['/ping'].get!;
    expect(op.security).toEqual([]);
    expect(Object.keys(op.responses)).toEqual(['200']);
  });

  it('gives a schema-less declared error (e.g. from @AdminOnly) the error schema, keeping its description', () => {
    const result = completeOpenApiDocument(
      doc({
        '/admin': {
          get: {
            operationId: 'adm',
            security: secured,
            responses: { '403': { description: 'Admins only' } },
          },
        },
      }),
    );
    const forbidden = result.paths['/admin'].get!.responses['403'] as {
      description: string;
      content: Record<string, { schema: unknown }>;
    };
    expect(forbidden.description).toBe('Admins only');
    expect(forbidden.content['application/json'].schema).toEqual(ERROR_REF);
  });

  it('declares path parameters that only a guard reads, as UUIDs', () => {
    const result = completeOpenApiDocument(
      doc({
        '/models/{id}/file': {
          get: { operationId: 'file', security: secured, responses: { '200': { description: 'x' } } },
        },
      }),
    );
    expect(result.paths['/models/{id}/file'].get!.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
    ]);
  });

  it('turns each *PayloadDto with a one-value `type` enum into a createWebhook callback with an example body', () => {
    const result = completeOpenApiDocument(
      doc(
        {
          '/webhooks': {
            post: {
              operationId: 'createWebhook',
              security: secured,
              responses: { '201': { description: 'x' } },
            },
          },
        },
        {
          ModelCreatedPayloadDto: {
            type: 'object',
            properties: {
              type: { type: 'string', enum: ['model.created'] },
              timestamp: { type: 'string', example: '2026-01-01T00:00:00Z' },
              data: { type: 'object', example: { modelId: 'm' } },
            },
          },
        },
      ),
    );
    const callbacks = result.paths['/webhooks'].post!.callbacks as Record<
      string,
      Record<string, { post: { requestBody: { content: Record<string, { example: unknown }> } } }>
    >;
    expect(Object.keys(callbacks)).toEqual(['model.created']);
    expect(
      callbacks['model.created']['{$request.body#/url}'].post.requestBody.content['application/json'].example,
    ).toEqual({
      type: 'model.created',
      timestamp: '2026-01-01T00:00:00Z',
      data: { modelId: 'm' },
    });
  });

  it('serialises with sorted keys, so the same document always gives the same bytes', () => {
    const a = serializeOpenApiDocument(doc({ '/b': {}, '/a': {} }));
    const b = serializeOpenApiDocument({
      components: { schemas: {} },
      paths: { '/a': {}, '/b': {} },
      info: { version: '1', title: 't' },
      openapi: '3.0.0',
    });
    expect(a).toBe(b);
    expect(a.indexOf('"/a"')).toBeLessThan(a.indexOf('"/b"'));
    expect(a.endsWith('}\n')).toBe(true);
  });
});
