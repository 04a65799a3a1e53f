import * as path from 'node:path';
import { loadConfig } from './src/config/app.config';
import { buildOrmOptions } from './src/database/orm-options';

// Used by the MikroORM CLI (`npm run db:migration:create`): new migrations are written as TypeScript into
// src/database/migrations and must then be added to src/database/migrations/index.ts.
const options = buildOrmOptions(loadConfig().databaseUrl);
export default {
  ...options,
  migrations: {
    ...options.migrations,
    migrationsList: undefined,
    path: path.join(__dirname, 'src', 'database', 'migrations'),
    pathTs: path.join(__dirname, 'src', 'database', 'migrations'),
  },
};
