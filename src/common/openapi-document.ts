import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  OperationObject,
  ParameterObject,
  ReferenceObject,
  ResponseObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { STATUS_CODES } from 'node:http';
import { BEARER_SCHEME, LOGIN_TOKEN_ONLY_EXTENSION } from './decorators';

/**
 * Post-processing of the generated OpenAPI document, so the contract stays complete without every route
 * repeating the same decorators:
 * - every operation documents the error responses it can give, all in the shared `ErrorResponseDto` shape
 *   (400 when it takes input, 401 when it needs credentials, 404 when it names a resource, 413 when it takes a
 *   body), and every error response that a decorator declared without a schema gets the error schema;
 * - a public operation says so with `security: []`, and a login-token-only one (`@LoginTokenOnly`) names only the
 *   bearer scheme;
 * - keys are sorted so the committed `openapi.json` is stable.
 */

const ERROR_SCHEMA_NAME = 'ErrorResponseDto';
const ERROR_REF = { $ref: `#/components/schemas/${ERROR_SCHEMA_NAME}` };
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const DEFAULT_ERRORS: Record<number, { description: string; code: string; message: string }> = {
  400: {
    description: 'Malformed or invalid input',
    code: 'VALIDATION_FAILED',
    message: 'email must be an email',
  },
  401: {
    description: 'No credentials, or a bad, expired or revoked token or API key, or a deactivated account',
    code: 'UNAUTHENTICATED',
    message: 'Authentication required: a Bearer token or X-API-Key',
  },
  403: { description: 'Authenticated but not allowed', code: 'FORBIDDEN', message: 'Forbidden' },
  404: {
    description: 'Not found, or not visible to the caller',
    code: 'NOT_FOUND',
    message: 'Resource not found',
  },
  409: { description: 'Conflicts with the current state', code: 'CONFLICT', message: 'Conflict' },
  413: {
    description: 'The request body is larger than the configured limit',
    code: 'PAYLOAD_TOO_LARGE',
    message: 'Request body is larger than the configured limit',
  },
  415: {
    description: 'Unsupported content type',
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Unsupported content type',
  },
  422: { description: 'Well-formed but unusable', code: 'INFERENCE_FAILED', message: 'Inference failed' },
  429: {
    description: 'Too many requests; retry after the number of seconds in `Retry-After`',
    code: 'RATE_LIMITED',
    message: 'Too many requests',
  },
  503: {
    description: 'A dependency (Postgres, Redis) is unavailable',
    code: 'DEPENDENCY_UNAVAILABLE',
    message: 'The database is unavailable',
  },
  504: {
    description: 'The operation took too long',
    code: 'INFERENCE_TIMEOUT',
    message: 'Inference timed out',
  },
};

function errorExample(status: number, code: string, message: string) {
  return {
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    message,
    code,
    requestId: '6c0a7d2e-3c1f-4c51-9d0b-8f4a1f6b2a10',
  };
}

function isReference(value: unknown): value is ReferenceObject {
  return typeof value === 'object' && value !== null && '$ref' in value;
}

function errorResponse(status: number, description?: string): ResponseObject {
  const known = DEFAULT_ERRORS[status];
  return {
    description: description ?? known?.description ?? STATUS_CODES[status] ?? 'Error',
    content: {
      'application/json': {
        schema: ERROR_REF,
        example: errorExample(
          status,
          known?.code ?? 'INTERNAL',
          known?.message ?? STATUS_CODES[status] ?? 'Error',
        ),
      },
    },
  };
}

/**
 * Path parameters read by a guard rather than by `@Param()` (e.g. `@RequireModelPermission` reads `:id`) are
 * invisible to Swagger; every `{name}` in a path is a UUID in this API, so declare the missing ones as such.
 */
function declarePathParameters(operation: OperationObject, path: string): void {
  const parameters = (operation.parameters ??= []);
  const declared = new Set(
    parameters.filter((p): p is ParameterObject => !isReference(p) && p.in === 'path').map((p) => p.name),
  );
  for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
    if (!name || declared.has(name)) continue;
    parameters.push({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' } });
  }
}

function completeErrorResponses(operation: OperationObject, pathParams: boolean): void {
  const responses = (operation.responses ??= {});
  const parameters = (operation.parameters ?? []).filter((p): p is ParameterObject => !isReference(p));
  const takesInput = !!operation.requestBody || parameters.some((p) => p.in === 'query' || p.in === 'path');
  const authenticated = Array.isArray(operation.security) && operation.security.length > 0;
  const wanted: number[] = [];
  if (takesInput) wanted.push(400);
  if (authenticated) wanted.push(401);
  if (pathParams) wanted.push(404);
  if (operation.requestBody) wanted.push(413);
  for (const status of wanted) {
    if (!responses[String(status)]) responses[String(status)] = errorResponse(status);
  }
  // Declared by a decorator (e.g. @AdminOnly's 403) but without a schema, or with a schema but no example.
  for (const [status, response] of Object.entries(responses)) {
    const code = Number(status);
    if (!response || isReference(response)) continue;
    if (code < 400) {
      if (!response.description) response.description = STATUS_CODES[code] ?? 'Success';
      continue;
    }
    const json = response.content?.['application/json'];
    if (!json?.schema) {
      responses[status] = errorResponse(code, response.description);
    } else if (
      !json.example &&
      !json.examples &&
      isReference(json.schema) &&
      json.schema.$ref === ERROR_REF.$ref
    ) {
      const known = DEFAULT_ERRORS[code];
      json.example = errorExample(
        code,
        known?.code ?? 'INTERNAL',
        known?.message ?? STATUS_CODES[code] ?? 'Error',
      );
    }
  }
}

/** Sorts object keys recursively (arrays keep their order), for a stable serialisation. */
export function sortKeysDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => sortKeysDeep(item)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      sorted[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return sorted as T;
  }
  return value;
}

/** One line per module tag, shown as section headers in Swagger UI. */
const TAG_DESCRIPTIONS: Record<string, string> = {
  auth: 'Register, sign in, refresh tokens, OAuth sign-in',
  users: 'Your profile and password',
  models: 'Upload, version, describe and download ONNX models',
  predictions: 'Run models (synchronously or as a background job) and search the prediction history',
  'api-keys': 'API keys for programmatic access (manage them with a login token)',
  shares: 'Share a model with other users at view, use or edit level',
  'model-shares': 'Share a model with other users at view, use or edit level',
  webhooks: 'Signed HTTP callbacks when models and predictions change',
  admin: 'Operator endpoints (administrators only)',
  health: 'Liveness and readiness probes',
};

type SchemaLike = { properties?: Record<string, { enum?: unknown[]; example?: unknown }> };

/**
 * Documents each webhook event's body as a callback of `createWebhook`: every `*PayloadDto` schema whose `type`
 * is a single-value enum (the webhooks module registers one per event type) becomes a POST to the subscribed URL,
 * with the signature headers and an example body.
 */
function addWebhookCallbacks(document: OpenAPIObject): void {
  const schemas = (document.components?.schemas ?? {}) as Record<string, SchemaLike>;
  const events = Object.entries(schemas)
    .filter(([name, schema]) => name.endsWith('PayloadDto') && schema.properties?.type?.enum?.length === 1)
    .map(([name, schema]) => ({ name, type: String(schema.properties?.type?.enum?.[0]), schema }))
    .sort((a, b) => a.type.localeCompare(b.type));
  if (!events.length) return;
  const operation = Object.values(document.paths)
    .map((item) => item.post)
    .find((op) => op?.operationId === 'createWebhook');
  if (!operation) return;
  const header = (name: string, description: string, example: string): ParameterObject => ({
    name,
    in: 'header',
    required: true,
    description,
    schema: { type: 'string' },
    example,
  });
  operation.callbacks = Object.fromEntries(
    events.map(({ name, type, schema }) => [
      type,
      {
        '{$request.body#/url}': {
          post: {
            summary: `The \`${type}\` delivery`,
            // The receiver authenticates the sender by the signature, not by a credential of this API.
            security: [],
            description:
              'Signed as in Standard Webhooks: verify `webhook-signature` (HMAC-SHA256 with the subscription secret) ' +
              'over `<webhook-id>.<webhook-timestamp>.<raw body>` before trusting the body.',
            parameters: [
              header(
                'webhook-id',
                'The event id, the same on every retry (deduplicate on it)',
                '0b6f2c1e-8d4a-4c3b-9e2f-7a1d5c9b3e40',
              ),
              header('webhook-timestamp', 'Unix seconds when this attempt was signed', '1795694400'),
              header(
                'webhook-signature',
                'Space-separated `v1,<base64 HMAC>` signatures',
                'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
              ),
            ],
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: { $ref: `#/components/schemas/${name}` },
                  example: {
                    type,
                    timestamp: schema.properties?.timestamp?.example,
                    data: schema.properties?.data?.example,
                  },
                },
              },
            },
            responses: {
              '200': {
                description:
                  'Any 2xx status acknowledges the delivery; anything else is retried with backoff',
              },
              '410': { description: 'Gone: the webhook is disabled and not called again' },
            },
          },
        },
      },
    ]),
  );
}

export function completeOpenApiDocument(document: OpenAPIObject): OpenAPIObject {
  addWebhookCallbacks(document);
  const used = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    const pathParams = /\{[^}]+\}/.test(path);
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      // An operation with no security requirement is public; say so instead of leaving it implicit.
      operation.security ??= [];
      const extended = operation as OperationObject & Record<string, unknown>;
      if (extended[LOGIN_TOKEN_ONLY_EXTENSION] === true) {
        operation.security = [{ [BEARER_SCHEME]: [] }];
        delete extended[LOGIN_TOKEN_ONLY_EXTENSION];
      }
      declarePathParameters(operation, path);
      completeErrorResponses(operation, pathParams);
      for (const tag of operation.tags ?? []) used.add(tag);
    }
  }
  const declared = new Map((document.tags ?? []).map((tag) => [tag.name, tag]));
  document.tags = [...new Set([...declared.keys(), ...used])]
    .sort()
    .map(
      (name) => declared.get(name) ?? { name, description: TAG_DESCRIPTIONS[name] ?? `The ${name} module` },
    );
  return sortKeysDeep(document);
}

/** The committed form of the document: sorted keys, two-space indent, trailing newline. */
export function serializeOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(sortKeysDeep(document), null, 2)}\n`;
}
