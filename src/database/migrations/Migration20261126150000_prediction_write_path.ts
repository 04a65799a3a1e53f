import { Migration } from '@mikro-orm/migrations';

/** The jsonb columns every prediction writes (its input and output, its outbox and delivery payloads). */
const PAYLOAD_COLUMNS: Array<[table: string, columns: string[]]> = [
  ['predictions', ['input_data', 'output_data']],
  ['webhook_events', ['payload']],
  ['webhook_deliveries', ['payload']],
];

const setCompression = (method: 'lz4' | 'pglz') =>
  PAYLOAD_COLUMNS.map(
    ([table, columns]) =>
      `alter table "${table}" ${columns.map((c) => `alter column "${c}" set compression ${method}`).join(', ')};`,
  ).join('\n    ');

/**
 * The prediction write path (issue 7, measured with `npm run bench`):
 * - The single-column indexes on predictions.model_id and predictions.user_id go: the keyset indexes
 *   (model_id, created_at, id) and (user_id, created_at, id) lead with the same columns and serve every lookup
 *   and foreign-key check they served, and each row paid for two more index insertions.
 * - Large jsonb values (an MNIST input is ~6 KB, a genre14 batch ~1 MB) are TOAST-compressed with lz4 instead
 *   of the default pglz, which costs several times more CPU per byte. Where the server was built without lz4
 *   (or is older than PostgreSQL 14) the default is kept and a notice says so.
 */
export class Migration20261126150000_prediction_write_path extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index if exists "predictions_model_id_index";`);
    this.addSql(`drop index if exists "predictions_user_id_index";`);
    this.addSql(`do $$
  begin
    ${setCompression('lz4')}
  exception when feature_not_supported or syntax_error or invalid_parameter_value then
    raise notice 'lz4 TOAST compression is not available here; keeping the default';
  end
$$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index if not exists "predictions_model_id_index" on "predictions" ("model_id");`);
    this.addSql(`create index if not exists "predictions_user_id_index" on "predictions" ("user_id");`);
    this.addSql(`do $$
  begin
    ${setCompression('pglz')}
  exception when feature_not_supported or syntax_error or invalid_parameter_value then
    null;
  end
$$;`);
  }
}
