import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { buildOrmOptions } from './orm-options';

/** Creates the database named in the URL when it does not exist (connecting to the `postgres` database). */
export async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`create database "${name.replace(/"/g, '""')}"`);
    return true;
  } catch (error) {
    // Another process created it between the check and the create.
    if ((error as { code?: string }).code === '42P04') return false;
    throw error;
  } finally {
    await client.end();
  }
}

/** Applies every pending migration; returns their names. */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const orm = await MikroORM.init(buildOrmOptions(databaseUrl, { pool: { min: 0, max: 2 } }));
  try {
    const done = await orm.getMigrator().up();
    return done.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}

export async function prepareDatabase(databaseUrl: string): Promise<{ created: boolean; applied: string[] }> {
  const created = await createDatabaseIfMissing(databaseUrl);
  const applied = await migrate(databaseUrl);
  return { created, applied };
}
