import { Migration } from '@mikro-orm/migrations';

/**
 * `webhook_deliveries.created_at` at millisecond precision. Deliveries are inserted by SQL (the fan-out of events),
 * so their `created_at` comes from the column's default `now()`, in microseconds, while a page's `nextCursor`
 * carries the JavaScript milliseconds of its last row: the keyset bound `(created_at, id) < (cursor)` then skipped
 * the rest of a group of deliveries sharing that row's timestamp (a fan-out makes many in one statement, so with
 * one `now()`). Existing rows are rounded to the millisecond; a default `now()` stored in a `timestamptz(3)` is
 * rounded too, so rows inserted by SQL from now on are as precise as the cursor. Lowering the precision rewrites
 * the table and rebuilds its indexes, under an exclusive lock, once.
 */
export class Migration20261203140000_webhook_delivery_created_at_ms extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "webhook_deliveries" alter column "created_at" type timestamptz(3);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "webhook_deliveries" alter column "created_at" type timestamptz;`);
  }
}
