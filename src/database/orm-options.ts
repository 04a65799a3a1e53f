import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, Options } from '@mikro-orm/postgresql';
import * as path from 'node:path';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/**
 * The one MikroORM configuration, for the app, the CLI (mikro-orm.config.ts) and tests. The schema is only ever
 * changed by the committed migrations; nothing here synchronises it.
 */
export function buildOrmOptions(databaseUrl: string, extra: Partial<Options> = {}) {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    forceUtcTimezone: true,
    ignoreUndefinedInQuery: true,
    // Entities are explicit about their column types, so the cheap reflect-metadata provider is enough.
    discovery: { warnWhenNoEntities: true, checkDuplicateTableNames: true },
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: path.join(__dirname, 'migrations'),
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      glob: 'Migration*.{js,ts}',
      fileName: (timestamp: string, name?: string) => `Migration${timestamp}${name ? '_' + name : ''}`,
      emit: 'ts',
    },
    pool: { min: 0, max: 10 },
    debug: false,
    ...extra,
  });
}
