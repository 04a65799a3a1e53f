import { MikroORM } from '@mikro-orm/postgresql';
import { buildOrmOptions } from '../../src/database/orm-options';
import { createTestDatabase } from '../support/test-app';

/**
 * The committed migrations and the entities describe the same schema: on a freshly migrated database, MikroORM's
 * schema diff against the entity metadata is empty. An entity changed without a migration (or the other way round)
 * fails here, with the SQL that would reconcile them.
 */
describe('schema drift (e2e)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let orm: MikroORM;

  beforeAll(async () => {
    db = await createTestDatabase();
    orm = await MikroORM.init(buildOrmOptions(db.url, { pool: { min: 0, max: 2 } }));
  });
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('the migrated database matches the entity metadata', async () => {
    const sql = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
    expect(sql.trim()).toBe('');
  });
});
