import { Migration } from '@mikro-orm/migrations';

/**
 * predictions.input_data becomes `json` (issue 7, measured with `npm run bench` and bench/README.md): `jsonb`
 * converts every number of an input to `numeric` on the way in, which for a 784-number MNIST input cost Postgres
 * ~180–230 µs of CPU per row (and ~14 ms for a 1 MB genre14 batch) against ~30 µs as `json`, which only checks
 * the text and keeps it as sent. Nothing queries inside inputs. The column keeps its lz4 compression. The type
 * change rewrites the table once.
 */
export class Migration20261126180000_prediction_input_json extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "predictions" alter column "input_data" type json using "input_data"::json;`);
    this.keepLz4();
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "predictions" alter column "input_data" type jsonb using "input_data"::jsonb;`);
    this.keepLz4();
  }

  /** A type change resets the column's compression method: set lz4 again where the server has it. */
  private keepLz4(): void {
    this.addSql(`do $$
  begin
    alter table "predictions" alter column "input_data" set compression lz4;
  exception when feature_not_supported or syntax_error or invalid_parameter_value then
    raise notice 'lz4 TOAST compression is not available here; keeping the default';
  end
$$;`);
  }
}
