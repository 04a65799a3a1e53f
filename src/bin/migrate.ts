import { ConfigError, loadConfig } from '../config/app.config';
import { prepareDatabase } from '../database/prepare-database';

/** `npm run db:migrate`: create the database if missing and apply pending migrations. */
prepareDatabase(loadConfig().databaseUrl)
  .then(({ created, applied }) => {
    if (created) console.log('Created the database');
    console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'No pending migrations');
  })
  .catch((error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  });
