import { Injectable } from '@nestjs/common';
import { QueueRegistry } from '../metrics/queue-registry';
import { AdminStatsResponseDto } from './admin-stats.dto';
import { AdminStatsRepository } from './admin-stats.repository';

const WINDOW_HOURS = 24;

@Injectable()
export class AdminStatsService {
  constructor(
    private readonly stats: AdminStatsRepository,
    private readonly queues: QueueRegistry,
  ) {}

  async overview(now = new Date()): Promise<AdminStatsResponseDto> {
    const since = new Date(now.getTime() - WINDOW_HOURS * 3600_000);
    const [users, byStatus, byType, predictions, inferenceTimes, deliveries, queues] = await Promise.all([
      this.stats.userCounts(),
      this.stats.modelsBy('status'),
      this.stats.modelsBy('model_type'),
      this.stats.predictionsByStatus(since),
      this.stats.inferenceTimes(since, 100),
      this.stats.webhookDeliveryCounts(since),
      this.queues.depths(),
    ]);
    const succeeded = deliveries?.succeeded ?? 0;
    const failed = deliveries?.failed ?? 0;
    const finished = succeeded + failed;
    return {
      generatedAt: now,
      windowHours: WINDOW_HOURS,
      users,
      models: { total: byStatus.reduce((sum, r) => sum + r.count, 0), byStatus, byType },
      predictions: { total: predictions.reduce((sum, r) => sum + r.count, 0), byStatus: predictions },
      inferenceTimes,
      webhookDeliveries: {
        finished,
        succeeded,
        failed,
        pending: deliveries?.pending ?? 0,
        successRate: finished > 0 ? succeeded / finished : null,
      },
      queues,
    };
  }
}
