import type { INestApplication } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { mountBullBoard } from './admin/bull-board';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { ErrorResponseDto } from './common/error-response.dto';
import { completeOpenApiDocument } from './common/openapi-document';
import { API_KEY_SCHEME, BEARER_SCHEME } from './common/decorators';
import { bodyParserErrorMapper, requestIdMiddleware } from './common/request-id.middleware';
import { JsonBodyInterceptor } from './common/json-body.interceptor';
import { jsonDepthGuard } from './common/json-depth';
import { HELMET_OPTIONS } from './common/security-headers';
import { createValidationPipe } from './common/validation';
import { PredictionFastPath } from './predictions/prediction-fast-path';
import type { AppConfig } from './config/app.config';
import { MetricsService } from './metrics/metrics.service';

export const API_PREFIX = 'api/v1';
/** Routes served outside the `/api/v1` prefix. */
export const UNPREFIXED_ROUTES = ['health/live', 'health/ready', 'metrics'];

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Modelport API')
    .setDescription(
      'Upload ONNX models, version and share them, run predictions with a login token or an API key, ' +
        'and receive signed webhooks. Errors always have the shape {statusCode, error, message, code, requestId}.',
    )
    .setVersion('1.0.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SCHEME)
    // Relative, so Swagger UI and generated clients talk to whichever host serves the document.
    .addServer('/', 'This server')
    .build();
  config.info.license = { name: 'UNLICENSED' };
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey: string, methodKey: string) => methodKey,
    extraModels: [ErrorResponseDto],
  });
  return completeOpenApiDocument(document);
}

/** Everything main.ts and the tests share: middleware order, pipes, filters, prefix and Swagger. */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  const config = app.get(ConfigService<AppConfig, true>);
  const limits = config.get('limits', { infer: true });
  app.useLogger(app.get(Logger));
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  // Request ids first, so even a body that fails to parse gets one.
  app.use(requestIdMiddleware);
  app.use(app.get(MetricsService).httpMiddleware());
  app.use(helmet(HELMET_OPTIONS));
  app.useBodyParser('json', { limit: limits.jsonBodyBytes });
  app.use(bodyParserErrorMapper);
  app.use(jsonDepthGuard);
  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED_ROUTES });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalInterceptors(new JsonBodyInterceptor(app.get(Reflector)));
  mountBullBoard(app);
  app.enableShutdownHooks();
  // The synchronous prediction route is answered in front of Express (see PredictionFastPath).
  PredictionFastPath.install(app);
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
    customSiteTitle: 'Modelport API',
  });
  return app;
}
