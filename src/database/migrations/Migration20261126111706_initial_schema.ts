import { Migration } from '@mikro-orm/migrations';

export class Migration20261126111706_initial_schema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "share_permission" as enum ('view', 'use', 'edit');`);
    this.addSql(
      `create table "users" ("id" uuid not null default gen_random_uuid(), "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "email" varchar(320) not null, "hashed_password" varchar(255) null, "full_name" varchar(200) not null, "oauth_provider" text check ("oauth_provider" in ('google', 'github')) null, "oauth_id" varchar(255) null, "avatar_url" varchar(2048) null, "is_active" boolean not null default true, "is_admin" boolean not null default false, constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);
    this.addSql(`create index "users_is_active_index" on "users" ("is_active");`);
    this.addSql(
      `alter table "users" add constraint "users_oauth_provider_oauth_id_unique" unique ("oauth_provider", "oauth_id");`,
    );

    this.addSql(
      `create table "models" ("id" uuid not null default gen_random_uuid(), "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "user_id" uuid not null, "name" varchar(100) not null, "description" text null, "model_type" text check ("model_type" in ('sklearn', 'tensorflow', 'pytorch')) not null, "version" int not null, "file_path" varchar(255) not null, "file_size" bigint not null, "status" text check ("status" in ('active', 'deprecated', 'archived')) not null default 'active', "input_schema" jsonb null, "output_schema" jsonb null, "model_metadata" jsonb null, constraint "models_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "models_user_id_index" on "models" ("user_id");`);
    this.addSql(`create index "models_status_index" on "models" ("status");`);
    this.addSql(`create index "models_created_at_index" on "models" ("created_at");`);
    this.addSql(
      `create index "models_user_id_created_at_id_index" on "models" ("user_id", "created_at", "id");`,
    );
    this.addSql(
      `alter table "models" add constraint "models_user_id_name_version_unique" unique ("user_id", "name", "version");`,
    );

    this.addSql(
      `create table "predictions" ("id" uuid not null default gen_random_uuid(), "model_id" uuid not null, "user_id" uuid not null, "input_data" jsonb not null, "output_data" jsonb null, "inference_time_ms" int null, "status" text check ("status" in ('pending', 'success', 'failed')) not null, "error_message" text null, "created_at" timestamptz not null default now(), constraint "predictions_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "predictions_model_id_index" on "predictions" ("model_id");`);
    this.addSql(`create index "predictions_user_id_index" on "predictions" ("user_id");`);
    this.addSql(`create index "predictions_status_index" on "predictions" ("status");`);
    this.addSql(`create index "predictions_created_at_index" on "predictions" ("created_at");`);
    this.addSql(
      `create index "predictions_user_id_created_at_id_index" on "predictions" ("user_id", "created_at", "id");`,
    );
    this.addSql(
      `create index "predictions_model_id_created_at_id_index" on "predictions" ("model_id", "created_at", "id");`,
    );

    this.addSql(
      `create table "model_shares" ("id" uuid not null default gen_random_uuid(), "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "model_id" uuid not null, "owner_id" uuid not null, "shared_with_user_id" uuid not null, "permission" "share_permission" not null, constraint "model_shares_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "model_shares_model_id_index" on "model_shares" ("model_id");`);
    this.addSql(`create index "model_shares_owner_id_index" on "model_shares" ("owner_id");`);
    this.addSql(
      `create index "model_shares_shared_with_user_id_index" on "model_shares" ("shared_with_user_id");`,
    );
    this.addSql(`create index "model_shares_created_at_index" on "model_shares" ("created_at");`);
    this.addSql(
      `alter table "model_shares" add constraint "model_shares_model_id_shared_with_user_id_unique" unique ("model_id", "shared_with_user_id");`,
    );

    this.addSql(
      `create table "api_keys" ("id" uuid not null default gen_random_uuid(), "user_id" uuid not null, "key_hash" varchar(64) not null, "prefix" varchar(16) not null, "name" varchar(100) not null, "is_active" boolean not null default true, "last_used_at" timestamptz null, "expires_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "api_keys_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "api_keys_user_id_index" on "api_keys" ("user_id");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_key_hash_unique" unique ("key_hash");`);
    this.addSql(`create index "api_keys_is_active_index" on "api_keys" ("is_active");`);

    this.addSql(
      `create table "webhooks" ("id" uuid not null default gen_random_uuid(), "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "user_id" uuid not null, "model_id" uuid null, "url" varchar(2048) not null, "secret" text not null, "events" text[] not null, "is_active" boolean not null default true, "retry_count" int not null default 0, "max_retries" int not null default 5, "timeout_seconds" int not null default 10, "headers" jsonb null, "last_triggered_at" timestamptz null, constraint "webhooks_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "webhooks_user_id_index" on "webhooks" ("user_id");`);
    this.addSql(`create index "webhooks_model_id_index" on "webhooks" ("model_id");`);

    this.addSql(
      `alter table "models" add constraint "models_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "predictions" add constraint "predictions_model_id_foreign" foreign key ("model_id") references "models" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "predictions" add constraint "predictions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "model_shares" add constraint "model_shares_model_id_foreign" foreign key ("model_id") references "models" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "model_shares" add constraint "model_shares_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "model_shares" add constraint "model_shares_shared_with_user_id_foreign" foreign key ("shared_with_user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "api_keys" add constraint "api_keys_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "webhooks" add constraint "webhooks_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "webhooks" add constraint "webhooks_model_id_foreign" foreign key ("model_id") references "models" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "models" drop constraint "models_user_id_foreign";`);

    this.addSql(`alter table "predictions" drop constraint "predictions_user_id_foreign";`);

    this.addSql(`alter table "model_shares" drop constraint "model_shares_owner_id_foreign";`);

    this.addSql(`alter table "model_shares" drop constraint "model_shares_shared_with_user_id_foreign";`);

    this.addSql(`alter table "api_keys" drop constraint "api_keys_user_id_foreign";`);

    this.addSql(`alter table "webhooks" drop constraint "webhooks_user_id_foreign";`);

    this.addSql(`alter table "predictions" drop constraint "predictions_model_id_foreign";`);

    this.addSql(`alter table "model_shares" drop constraint "model_shares_model_id_foreign";`);

    this.addSql(`alter table "webhooks" drop constraint "webhooks_model_id_foreign";`);

    this.addSql(`drop table if exists "users" cascade;`);

    this.addSql(`drop table if exists "models" cascade;`);

    this.addSql(`drop table if exists "predictions" cascade;`);

    this.addSql(`drop table if exists "model_shares" cascade;`);

    this.addSql(`drop table if exists "api_keys" cascade;`);

    this.addSql(`drop table if exists "webhooks" cascade;`);

    this.addSql(`drop type "share_permission";`);
  }
}
