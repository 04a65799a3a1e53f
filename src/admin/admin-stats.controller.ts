import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, ApiAuth } from '../common/decorators';
import { AdminStatsResponseDto } from './admin-stats.dto';
import { AdminStatsService } from './admin-stats.service';

@ApiTags('admin')
@ApiAuth()
@AdminOnly()
@Controller('admin/stats')
export class AdminStatsController {
  constructor(private readonly stats: AdminStatsService) {}

  @Get()
  @ApiOperation({
    operationId: 'getAdminStats',
    summary:
      'Users, models, last-24-hour predictions, p50/p95 inference times, webhook success rate, queue depths',
  })
  getStats(): Promise<AdminStatsResponseDto> {
    return this.stats.overview();
  }
}
