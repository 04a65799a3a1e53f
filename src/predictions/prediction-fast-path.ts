import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { authenticateAccessToken, extractCredential } from '../auth/auth.guard';
import { TokenService } from '../auth/token.service';
import { mapError } from '../common/all-exceptions.filter';
import { AppError } from '../common/app-error';
import type { AuthContext } from '../common/auth-context';
import type { ErrorResponseDto } from '../common/error-response.dto';
import { SAFE_REQUEST_ID } from '../common/request-id.middleware';
import { HELMET_OPTIONS } from '../common/security-headers';
import type { AppConfig } from '../config/app.config';
import { MetricsService } from '../metrics/metrics.service';
import { ModelAccessService } from '../model-shares/model-access.service';
import { PredictionThrottle } from '../throttle/prediction-throttle';
import { UsersService } from '../users/users.service';
import { rememberInputText, stringifyWithInput } from './input-json';
import { parseCreatePredictionBody } from './prediction-body';
import { prefersRespondAsync } from './prediction-input';
import { predictionOutcomeHeaders } from './prediction-response';
import { PredictionsService } from './predictions.service';

/** `POST /api/v1/models/{uuid}/predictions`, with an optional query string. */
const ROUTE =
  /^\/api\/v1\/models\/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\/predictions(?:\?.*)?$/;
/** The route template, as the metrics label it (the same string Express reports). */
const ROUTE_TEMPLATE = '/api/v1/models/:id/predictions';
const JSON_MEDIA_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

type Headers = Array<[string, string]>;

export interface FastPathDeps {
  apiKeys: ApiKeysService;
  tokens: TokenService;
  users: UsersService;
  access: ModelAccessService;
  throttle: PredictionThrottle;
  predictions: PredictionsService;
  metrics: MetricsService;
  orm: MikroORM;
  jsonBodyBytes: number;
  /** Headers every answer carries (helmet's, as configured for the app). */
  staticHeaders: Headers;
}

/**
 * The synchronous prediction route without the framework's per-request machinery. `POST /api/v1/models/{id}/
 * predictions` is what users pay for, and Express's router, body parser and middleware chain, Nest's guards,
 * pipes and interceptors, pino-http and a MikroORM request context cost several times the inference itself
 * (see bench/README.md). This handler sits in front of Express on the same server and does exactly what that
 * chain does for this one route, in the same order and with the same answers:
 *
 * request id → security headers → JSON body (limit, MALFORMED_JSON) → API key or login token → the
 * `predictions` throttle → `use` permission on the model → the body's shape → PredictionsService.create (the same
 * checks, the same recorded row and outbox row, answered once the row is durable) → 201 with the same headers.
 *
 * What it does not handle goes on to Express untouched, where the Nest route (which also documents it in the
 * OpenAPI document) answers: `Prefer: respond-async`, a body that is not `application/json` in UTF-8, a
 * compressed body, any other method or path. API keys, users and model access come from epoch-guarded caches
 * (see AccessEpoch), so a warm request costs its share of one Redis call per event-loop turn (the epoch and the
 * throttle, PredictionThrottle.admit) and of the group commit.
 */
export class PredictionFastPath {
  private readonly logger = new Logger(PredictionFastPath.name);

  constructor(private readonly deps: FastPathDeps) {}

  /** Puts the fast path in front of the app's Express handler. Call once, before `listen`. */
  static install(app: NestExpressApplication): PredictionFastPath {
    const config = app.get(ConfigService<AppConfig, true>);
    const fastPath = new PredictionFastPath({
      apiKeys: app.get(ApiKeysService, { strict: false }),
      tokens: app.get(TokenService, { strict: false }),
      users: app.get(UsersService, { strict: false }),
      access: app.get(ModelAccessService, { strict: false }),
      throttle: app.get(PredictionThrottle, { strict: false }),
      predictions: app.get(PredictionsService, { strict: false }),
      metrics: app.get(MetricsService, { strict: false }),
      orm: app.get(MikroORM, { strict: false }),
      jsonBodyBytes: config.get('limits', { infer: true }).jsonBodyBytes,
      staticHeaders: helmetHeaders(),
    });
    const server = app.getHttpServer();
    const next = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const modelId = fastPath.accepts(req);
      if (modelId !== null) {
        fastPath.handle(req, res, modelId);
        return;
      }
      for (const listener of next) listener.call(server, req, res);
    });
    return fastPath;
  }

  /**
   * The model id when this request is one the fast path answers, else null (decided on the request line and
   * headers alone).
   */
  accepts(req: IncomingMessage): string | null {
    if (req.method !== 'POST' || req.url === undefined) return null;
    const modelId = ROUTE.exec(req.url)?.[1];
    if (modelId === undefined) return null;
    const type = req.headers['content-type'];
    if (typeof type !== 'string' || !JSON_MEDIA_TYPE.test(type)) return null;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return null;
    return prefersRespondAsync(req.headers.prefer) ? null : modelId;
  }

  handle(req: IncomingMessage, res: ServerResponse, modelId: string): void {
    const started = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.deps.metrics.observeHttpRequest('POST', ROUTE_TEMPLATE, res.statusCode, seconds);
      if (res.statusCode >= 400) {
        this.logger.log(
          {
            requestId,
            method: 'POST',
            url: req.url,
            statusCode: res.statusCode,
            responseTime: seconds * 1000,
          },
          'request completed',
        );
      }
    });
    // Headers every answer from here on carries, errors included (the throttle's, once it has counted).
    const headers: Headers = [];
    this.readBody(req, (err, body) => {
      if (err) {
        this.fail(req, res, requestId, err, headers);
        return;
      }
      this.predict(req, modelId, body, headers)
        .then(
          ({ status, payload }) => this.send(res, requestId, status, headers, payload),
          (error: unknown) => this.fail(req, res, requestId, error, headers),
        )
        .catch((error: unknown) => {
          // Only answering itself failed (the socket is gone, or a header value was refused): drop the connection.
          this.logger.error({ err: error, requestId }, 'Could not answer a prediction');
          res.destroy();
        });
    });
  }

  /** Runs the route's steps; pushes the answer's headers onto `headers` as they become known. */
  private async predict(
    req: IncomingMessage,
    modelId: string,
    body: unknown,
    headers: Headers,
  ): Promise<{ status: number; payload: unknown }> {
    const credential = extractCredential(req);
    if (!credential)
      throw new AppError('UNAUTHENTICATED', 'Authentication required: a Bearer token or X-API-Key');
    // A key this process has seen is counted against its throttle while the epoch is read (PredictionThrottle.admit:
    // one Redis call for every prediction of this event-loop turn). The key is still authenticated under that
    // epoch before the count is judged or anything else happens.
    const key = credential.kind === 'apiKey' ? this.deps.apiKeys.present(credential.value) : undefined;
    const knownKeyId = key?.cachedKeyId;
    const { epoch, record } = await this.deps.throttle.admit(
      knownKeyId === undefined ? undefined : `key:${knownKeyId}`,
    );
    const auth: AuthContext = key
      ? await this.deps.apiKeys.authenticateSnapshot(key, epoch)
      : await RequestContext.create(this.deps.orm.em, () =>
          authenticateAccessToken(this.deps.tokens, this.deps.users, credential.value),
        );
    // As with the guard, the throttle's headers go on every answer after it counted, errors included.
    headers.push(
      ...(record !== undefined && auth.apiKey?.id === knownKeyId
        ? this.deps.throttle.judge(record)
        : await this.deps.throttle.hit(auth)),
    );
    const access = await this.deps.access.requireCached(auth, modelId, 'use', epoch);
    const dto = parseCreatePredictionBody(body);
    const outcome = await this.deps.predictions.create(auth, access, dto.input, { respondAsync: false });
    headers.push(...predictionOutcomeHeaders(outcome));
    return { status: 201, payload: outcome.prediction };
  }

  /** Collects the body up to the JSON limit and parses it as body-parser would (strict: an object or array). */
  private readBody(req: IncomingMessage, done: (err: unknown, body?: unknown) => void): void {
    const limit = this.deps.jsonBodyBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      done(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const finish = (err: unknown, body?: unknown) => {
      if (finished) return;
      finished = true;
      done(err, body);
    };
    req.on('data', (chunk: Buffer) => {
      if (finished) return;
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (finished) return;
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
      let body: unknown;
      try {
        body = parseJsonBody(text);
      } catch (err) {
        finish(err);
        return;
      }
      // The input's text as sent, for the row and the answer (see rememberInputText).
      if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
        rememberInputText(text, (body as { input?: unknown }).input);
      }
      finish(null, body);
    });
    req.on('error', (err) => finish(err));
  }

  private send(
    res: ServerResponse,
    requestId: string,
    status: number,
    headers: Headers,
    payload: unknown,
  ): void {
    if (res.headersSent || res.destroyed) return;
    const body =
      payload !== null && typeof payload === 'object' && 'input' in payload
        ? stringifyWithInput(payload)
        : JSON.stringify(payload);
    // One flat list handed to writeHead: Node validates and writes it as it is, without building the header map
    // that a setHeader per header would (a dozen of them here, on every answer).
    const flat: string[] = ['X-Request-Id', requestId];
    for (const [name, value] of this.deps.staticHeaders) flat.push(name, value);
    for (const [name, value] of headers) flat.push(name, value);
    flat.push(
      'Content-Type',
      'application/json; charset=utf-8',
      'Content-Length',
      String(Buffer.byteLength(body)),
    );
    res.writeHead(status, flat);
    res.end(body);
  }

  private fail(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    error: unknown,
    headers: Headers,
  ): void {
    const mapped = mapError(error);
    if (
      mapped.status >= 500 &&
      mapped.code !== 'DEPENDENCY_UNAVAILABLE' &&
      mapped.code !== 'INFERENCE_TIMEOUT'
    ) {
      this.logger.error({ err: error, requestId }, 'Unhandled error');
    }
    const body: ErrorResponseDto = {
      statusCode: mapped.status,
      error: STATUS_CODES[mapped.status] ?? 'Error',
      message: mapped.message,
      code: mapped.code,
      requestId,
    };
    headers.push(...Object.entries(mapped.headers ?? {}));
    // A body left unread (too large) would be parsed as the next request: close the connection instead.
    if (!req.complete) headers.push(['Connection', 'close']);
    this.send(res, requestId, mapped.status, headers, body);
    if (!req.complete) res.once('finish', () => req.destroy());
  }
}

function tooLarge(limit: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `Request body is larger than the limit of ${limit} bytes`);
}

/** body-parser's `json()` with `strict: true`: an empty body is `{}`, otherwise an object or an array. */
export function parseJsonBody(text: string): unknown {
  const first = /\S/.exec(text);
  if (!first) return {};
  if (first[0] !== '{' && first[0] !== '[') {
    throw new AppError(
      'MALFORMED_JSON',
      `Malformed JSON in request body: expected an object or an array, found "${first[0]}" at position ${first.index}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError('MALFORMED_JSON', `Malformed JSON in request body: ${(err as Error).message}`);
  }
}

/** The headers helmet sets on every answer, as configured in app.setup.ts (it sets no per-request values). */
function helmetHeaders(): Headers {
  const headers: Headers = [];
  const middleware = helmet(HELMET_OPTIONS);
  const res = {
    setHeader: (name: string, value: string | number) => void headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  middleware({} as IncomingMessage, res as unknown as ServerResponse, () => undefined);
  return headers;
}
