import { AppError } from './app-error';

/**
 * The instants the API takes from clients: years 1 to 9999, the four-digit years of ISO 8601 that both
 * `Date#toISOString` and Postgres' `timestamptz` hold. A date outside them (or one `Date` cannot read, such as an
 * ISO 8601 week date that class-validator's `IsISO8601` accepts) would reach Postgres and fail there.
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** The instant `value` names, or null when it is not one the API takes. */
export function toInstant(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const time = Date.parse(value);
  return Number.isNaN(time) || time < EARLIEST || time > LATEST ? null : new Date(time);
}

/** `toInstant`, or VALIDATION_FAILED naming the field. */
export function parseInstant(name: string, value: string): Date {
  const instant = toInstant(value);
  if (instant === null) {
    throw new AppError(
      'VALIDATION_FAILED',
      `${name} must be an ISO 8601 date-time between the years 1 and 9999, such as 2030-01-01T00:00:00Z`,
    );
  }
  return instant;
}
