import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { raw } from '@mikro-orm/core';
import { AppError } from './app-error';
import { toInstant } from './instant';

/** Query parameters of every list route: `limit` and an opaque `cursor` from the previous page. */
export class PageQueryDto {
  /** Page size, 1 to 100. */
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** `nextCursor` of the previous page. */
  @ApiPropertyOptional({ description: '`nextCursor` of the previous page', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export interface Cursor {
  createdAt: Date;
  id: string;
}

export interface PageQuery {
  limit: number;
  after?: Cursor;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function decodeCursor(cursor: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [at, id] = parsed as unknown[];
      // Exactly what encodeCursor writes: anything else could name an instant Postgres cannot hold.
      const createdAt = toInstant(at);
      if (createdAt && createdAt.toISOString() === at && typeof id === 'string' && UUID.test(id))
        return { createdAt, id };
    }
  } catch {
    // fall through to the error below
  }
  throw new AppError('VALIDATION_FAILED', 'cursor is not a cursor this API returned');
}

export function toPageQuery(dto: PageQueryDto): PageQuery {
  return { limit: dto.limit ?? 20, after: dto.cursor ? decodeCursor(dto.cursor) : undefined };
}

/**
 * Rows after the cursor for `ORDER BY created_at DESC, id DESC`, as one row-value comparison. Postgres uses
 * `(created_at, id) < (…)` as a bound of a (…, created_at, id) index, so every page costs the same; the
 * equivalent `created_at < … OR (created_at = … AND id < …)` is only a filter, and a page deep in a large list
 * reads every newer row first.
 */
export function keysetWhere(page: PageQuery): Record<string, unknown> {
  if (!page.after) return {};
  const { createdAt, id } = page.after;
  return { [raw((alias: string) => `(${alias}.created_at, ${alias}.id) < (?, ?)`, [createdAt, id])]: [] };
}

/** Rows were fetched with `limit + 1`: the extra row only says whether there is a next page. */
export function toPage<T extends { createdAt: Date; id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

export function mapPage<T, R>(page: Page<T>, map: (item: T) => R): Page<R> {
  return { items: page.items.map(map), nextCursor: page.nextCursor };
}
