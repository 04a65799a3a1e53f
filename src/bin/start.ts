import { ConfigError, loadConfig } from '../config/app.config';
import { prepareDatabase } from '../database/prepare-database';
import { bootstrap } from '../main';

/** `npm start`: validate configuration, create the database if missing, apply migrations, serve. */
async function start(): Promise<void> {
  const config = loadConfig();
  const { created, applied } = await prepareDatabase(config.databaseUrl);
  if (created) console.log(`Created database ${new URL(config.databaseUrl).pathname.slice(1)}`);
  if (applied.length) console.log(`Applied migrations: ${applied.join(', ')}`);
  const app = await bootstrap(config);
  console.log(`Modelport listening on ${await app.getUrl()} (API docs at /docs)`);
}

start().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
