import { Migration } from '@mikro-orm/migrations';

/**
 * The prediction write path, continued (issue 7, measured with `npm run bench`): predictions.status loses its
 * own index. It has three values, no query filters on it alone (listings go by model or user and time, the admin
 * figures by time), and every insert paid for one more index entry.
 */
export class Migration20261126170000_prediction_status_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index if exists "predictions_status_index";`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index if not exists "predictions_status_index" on "predictions" ("status");`);
  }
}
