import { Migration } from '@mikro-orm/migrations';

/** Webhook delivery: rotation overlap and auto-disable state on webhooks, the delivery log and the event outbox. */
export class Migration20261126112620_webhook_delivery extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "webhooks" add column "previous_secret" text null, add column "previous_secret_expires_at" timestamptz null, add column "consecutive_failures" int not null default 0, add column "disabled_reason" text null, add column "disabled_at" timestamptz null;`,
    );

    this.addSql(
      `create table "webhook_deliveries" ("id" uuid not null default gen_random_uuid(), "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "webhook_id" uuid not null, "event_id" uuid not null, "event_type" varchar(64) not null, "payload" jsonb not null, "status" text check ("status" in ('pending', 'success', 'failed')) not null default 'pending', "attempts" int not null default 0, "max_attempts" int not null default 1, "response_status" int null, "response_body" text null, "duration_ms" int null, "error" text null, "queued_at" timestamptz null, "last_attempt_at" timestamptz null, "next_attempt_at" timestamptz null, "completed_at" timestamptz null, "redelivery_of" uuid null, constraint "webhook_deliveries_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "webhook_deliveries_webhook_id_created_at_id_index" on "webhook_deliveries" ("webhook_id", "created_at", "id");`,
    );
    this.addSql(
      `create index "webhook_deliveries_unqueued_index" on "webhook_deliveries" ("created_at") where "queued_at" is null and "status" = 'pending';`,
    );
    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_webhook_id_foreign" foreign key ("webhook_id") references "webhooks" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `create table "webhook_events" ("id" uuid not null default gen_random_uuid(), "created_at" timestamptz not null default now(), "type" varchar(64) not null, "user_id" uuid not null, "model_id" uuid null, "payload" jsonb not null, "relayed_at" timestamptz null, constraint "webhook_events_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "webhook_events_unrelayed_index" on "webhook_events" ("created_at") where "relayed_at" is null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "webhook_events" cascade;`);
    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
    this.addSql(
      `alter table "webhooks" drop column "previous_secret", drop column "previous_secret_expires_at", drop column "consecutive_failures", drop column "disabled_reason", drop column "disabled_at";`,
    );
  }
}
