import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261126111706_initial_schema } from './Migration20261126111706_initial_schema';
import { Migration20261126112620_webhook_delivery } from './Migration20261126112620_webhook_delivery';
import { Migration20261126150000_prediction_write_path } from './Migration20261126150000_prediction_write_path';
import { Migration20261126170000_prediction_status_index } from './Migration20261126170000_prediction_status_index';
import { Migration20261126180000_prediction_input_json } from './Migration20261126180000_prediction_input_json';
import { Migration20261203100000_webhook_delivery_hot_updates } from './Migration20261203100000_webhook_delivery_hot_updates';
import { Migration20261203140000_webhook_delivery_created_at_ms } from './Migration20261203140000_webhook_delivery_created_at_ms';

/**
 * Every migration, in order. Listed explicitly (not globbed) so they run the same from ts-jest and compiled JS.
 * A migration made with `npm run db:migration:create` must be added here.
 */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261126111706_initial_schema', class: Migration20261126111706_initial_schema },
  { name: 'Migration20261126112620_webhook_delivery', class: Migration20261126112620_webhook_delivery },
  {
    name: 'Migration20261126150000_prediction_write_path',
    class: Migration20261126150000_prediction_write_path,
  },
  {
    name: 'Migration20261126170000_prediction_status_index',
    class: Migration20261126170000_prediction_status_index,
  },
  {
    name: 'Migration20261126180000_prediction_input_json',
    class: Migration20261126180000_prediction_input_json,
  },
  {
    name: 'Migration20261203100000_webhook_delivery_hot_updates',
    class: Migration20261203100000_webhook_delivery_hot_updates,
  },
  {
    name: 'Migration20261203140000_webhook_delivery_created_at_ms',
    class: Migration20261203140000_webhook_delivery_created_at_ms,
  },
];
