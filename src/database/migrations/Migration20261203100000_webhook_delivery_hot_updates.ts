import { Migration } from '@mikro-orm/migrations';

/**
 * The delivery write path (issue 7, measured with `npm run bench`: WAL per skl-linreg prediction 2 360 → 2 060 bytes
 * with the HOT updates, see bench/README.md).
 *
 * New deliveries get time-ordered ids (UUID v7, as predictions have since session 2): `uuid_generate_v7()`, the
 * column's default, which the predictions group commit's fan-out relies on. A random v4 id lands on a random leaf
 * of the primary key index, so that a stream of deliveries dirties (and after each checkpoint logs a full image of)
 * leaves all over the index; a v7 id lands on its right edge.
 *
 * Writing a delivery's outcome becomes a HOT update. Every delivery is
 * inserted and then updated once per attempt; none of those updates was HOT (`n_tup_hot_upd` 0 of 6 539 in a bench
 * cell), so each wrote a new entry into every index of the table and left the old ones for VACUUM:
 * - the partial index of unqueued deliveries named `status` in its predicate, and a column an index's predicate
 *   reads counts as indexed, so an update that changes the status can never be HOT. The predicate is now
 *   `queued_at is null` alone: the relay's claim (`queued_at is null and status = 'pending'`) still reads the index
 *   and checks the status on the row, and a delivery leaves `pending` only after it has been queued.
 * - a full page has no room for the new row version, and rows are written in insert order, so the page of a
 *   delivery being answered is usually full already: `fillfactor` 50 keeps half of each new page for the versions
 *   its rows' outcomes write (applies to pages written from now on).
 */
export class Migration20261203100000_webhook_delivery_hot_updates extends Migration {
  override async up(): Promise<void> {
    // RFC 9562 v7: 48 bits of Unix milliseconds, then the version, then random bits (from a v4 UUID).
    this
      .addSql(`create or replace function uuid_generate_v7() returns uuid language sql volatile parallel safe as $$
  select encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
           placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
           from 1 for 6), 52, 1), 53, 1), 'hex')::uuid
$$;`);
    this.addSql(`alter table "webhook_deliveries" alter column "id" set default uuid_generate_v7();`);
    this.addSql(`alter table "webhook_deliveries" set (fillfactor = 50);`);
    this.addSql(`drop index if exists "webhook_deliveries_unqueued_index";`);
    this.addSql(
      `create index "webhook_deliveries_unqueued_index" on "webhook_deliveries" ("created_at") where "queued_at" is null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "webhook_deliveries" alter column "id" set default gen_random_uuid();`);
    this.addSql(`drop function if exists uuid_generate_v7();`);
    this.addSql(`alter table "webhook_deliveries" reset (fillfactor);`);
    this.addSql(`drop index if exists "webhook_deliveries_unqueued_index";`);
    this.addSql(
      `create index "webhook_deliveries_unqueued_index" on "webhook_deliveries" ("created_at") where "queued_at" is null and "status" = 'pending';`,
    );
  }
}
