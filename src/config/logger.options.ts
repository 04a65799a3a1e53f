import type { Params } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppConfig } from './app.config';

/** `POST /api/v1/models/{id}/predictions` (query string allowed). */
const PREDICTION_ROUTE = /^\/api\/v1\/models\/[^/?]+\/predictions(\?|$)/;

/** pino with the request id on every line; credentials are redacted, health probes are not logged. */
export function buildLoggerOptions(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? '',
      customProps: (req: IncomingMessage) => ({ requestId: (req as IncomingMessage & { id?: string }).id }),
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
        ],
        censor: '[redacted]',
      },
      autoLogging: { ignore: (req: IncomingMessage) => (req.url ?? '').startsWith('/health') },
      // The prediction route is the hot path: its successes are logged at debug, not once per request at info.
      customLogLevel: (req: IncomingMessage, res: ServerResponse, err?: Error) =>
        !err &&
        res.statusCode < 400 &&
        req.method === 'POST' &&
        PREDICTION_ROUTE.test(
          (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '',
        )
          ? 'debug'
          : 'info',
      quietReqLogger: true,
    },
  };
}
