import type { EntityManager } from '@mikro-orm/postgresql';

/** The part of a pooled `pg` client used here. */
interface PgClient {
  query<R>(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>;
}

/** The part of knex's client that hands out pooled connections. */
interface KnexPool {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/**
 * One parameterised statement on a pooled connection, straight through the `pg` driver, outside any unit of work
 * or transaction of `em` (so it autocommits on its own). For the hot paths that write or claim rows in bulk —
 * the predictions group commit and the webhook outbox relay — where MikroORM's `execute` (which inlines and escapes
 * every value in JavaScript) and knex's query building cost more than Postgres does. Errors are mapped to
 * MikroORM's exceptions, as its own calls would be. With a `name`, the statement is prepared once per connection
 * and only bound and executed after that (the text must then never change under that name).
 */
export async function queryOnPool<R = Record<string, unknown>>(
  em: EntityManager,
  text: string,
  values: unknown[] = [],
  name?: string,
): Promise<R[]> {
  const pool = em.getConnection().getKnex().client as KnexPool;
  const client = (await pool.acquireConnection()) as PgClient;
  try {
    return (await client.query<R>({ name, text, values })).rows;
  } catch (err) {
    throw em.getDriver().convertException(err as Error);
  } finally {
    await pool.releaseConnection(client);
  }
}
