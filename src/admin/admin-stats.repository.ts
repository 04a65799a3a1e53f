import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';

export interface KeyCount {
  key: string;
  count: number;
}

export interface LatencyRow {
  modelId: string;
  modelName: string;
  version: number;
  predictions: number;
  p50Ms: number;
  p95Ms: number;
}

export interface DeliveryCounts {
  succeeded: number;
  failed: number;
  pending: number;
}

/** Read-only aggregate queries for the operator dashboard (plain SQL; counts come back as strings from pg). */
@Injectable()
export class AdminStatsRepository {
  constructor(private readonly em: EntityManager) {}

  private async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.getConnection().execute<T[]>(sql, params);
  }

  async userCounts(): Promise<{ total: number; active: number }> {
    const [row] = await this.rows<{ total: string; active: string }>(
      'select count(*) as total, count(*) filter (where is_active) as active from users',
    );
    return { total: Number(row?.total ?? 0), active: Number(row?.active ?? 0) };
  }

  async modelsBy(column: 'status' | 'model_type'): Promise<KeyCount[]> {
    const rows = await this.rows<{ key: string; count: string }>(
      `select ${column} as key, count(*) as count from models group by ${column} order by ${column}`,
    );
    return rows.map((r) => ({ key: r.key, count: Number(r.count) }));
  }

  async predictionsByStatus(since: Date): Promise<KeyCount[]> {
    const rows = await this.rows<{ key: string; count: string }>(
      'select status as key, count(*) as count from predictions where created_at >= ? group by status order by status',
      [since],
    );
    return rows.map((r) => ({ key: r.key, count: Number(r.count) }));
  }

  async inferenceTimes(since: Date, limit: number): Promise<LatencyRow[]> {
    const rows = await this.rows<{
      model_id: string;
      name: string;
      version: number;
      n: string;
      p50: number;
      p95: number;
    }>(
      `select p.model_id, m.name, m.version, count(*) as n,
              percentile_cont(0.5) within group (order by p.inference_time_ms) as p50,
              percentile_cont(0.95) within group (order by p.inference_time_ms) as p95
         from predictions p join models m on m.id = p.model_id
        where p.created_at >= ? and p.status = 'success' and p.inference_time_ms is not null
        group by p.model_id, m.name, m.version
        order by count(*) desc, p.model_id
        limit ?`,
      [since, limit],
    );
    return rows.map((r) => ({
      modelId: r.model_id,
      modelName: r.name,
      version: Number(r.version),
      predictions: Number(r.n),
      p50Ms: Number(r.p50),
      p95Ms: Number(r.p95),
    }));
  }

  /** Null when the deliveries table does not exist (an older schema): the figure is then reported as empty. */
  async webhookDeliveryCounts(since: Date): Promise<DeliveryCounts | null> {
    const [exists] = await this.rows<{ present: boolean }>(
      "select to_regclass('webhook_deliveries') is not null as present",
    );
    if (!exists?.present) return null;
    const [row] = await this.rows<{ succeeded: string; failed: string; pending: string }>(
      `select count(*) filter (where status = 'success') as succeeded,
              count(*) filter (where status = 'failed') as failed,
              count(*) filter (where status = 'pending') as pending
         from webhook_deliveries where created_at >= ?`,
      [since],
    );
    return {
      succeeded: Number(row?.succeeded ?? 0),
      failed: Number(row?.failed ?? 0),
      pending: Number(row?.pending ?? 0),
    };
  }
}
