import type { Params } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import type { AppConfig } from './app.config';

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
      quietReqLogger: true,
    },
  };
}
