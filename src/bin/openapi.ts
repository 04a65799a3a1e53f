import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AppModule } from '../app.module';
import { API_PREFIX, buildOpenApiDocument, UNPREFIXED_ROUTES } from '../app.setup';
import { serializeOpenApiDocument } from '../common/openapi-document';
import { loadConfig } from '../config/app.config';

/** Where the committed contract lives (the repository root, both from src/bin and dist/src/bin). */
export const OPENAPI_FILE = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..',
  'openapi.json',
);

/**
 * The OpenAPI document of the whole service, built without a database, Redis or a listening port: Nest's preview
 * mode resolves the module graph and routes but instantiates no provider, so nothing connects anywhere.
 */
export async function generateOpenApiDocument(): Promise<OpenAPIObject> {
  // A fixed configuration, so the document never depends on the caller's environment.
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '3000',
    PUBLIC_URL: 'http://localhost:3000',
    DATABASE_URL: 'postgres://openapi@127.0.0.1:1/openapi',
    REDIS_URL: 'redis://127.0.0.1:1',
  });
  const app = await NestFactory.create(AppModule.forRoot(config), {
    preview: true,
    abortOnError: false,
    logger: false,
  });
  try {
    app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED_ROUTES });
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

export async function generateOpenApiJson(): Promise<string> {
  return serializeOpenApiDocument(await generateOpenApiDocument());
}

/** `npm run openapi`: (re)writes openapi.json. */
export async function writeOpenApiFile(file = OPENAPI_FILE): Promise<void> {
  writeFileSync(file, await generateOpenApiJson());
  console.log(`Wrote ${path.relative(process.cwd(), file) || file}`);
}

if (require.main === module) {
  writeOpenApiFile(process.argv[2] ? path.resolve(process.argv[2]) : OPENAPI_FILE).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
