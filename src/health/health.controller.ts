import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  MikroOrmHealthIndicator,
} from '@nestjs/terminus';
import Redis from 'ioredis';
import { AppError } from '../common/app-error';
import { Public } from '../common/decorators';
import { ErrorResponseDto } from '../common/error-response.dto';
import { REDIS } from '../redis/redis.module';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: MikroOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Get('live')
  @ApiOperation({ operationId: 'liveness', summary: 'The process is up' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiServiceUnavailableResponse({
    description: 'Postgres or Redis is down (named in the message)',
    type: ErrorResponseDto,
  })
  @ApiOperation({
    operationId: 'readiness',
    summary: 'Postgres and Redis answer; 503 naming what is down otherwise',
  })
  async ready(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.db.pingCheck('database', { timeout: 2000 }),
        () => this.pingRedis(),
      ]);
    } catch (error) {
      const details =
        (error as { response?: { error?: Record<string, { message?: string }> } }).response?.error ?? {};
      const down = Object.entries(details).map(
        ([name, info]) => `${name}${info.message ? ` (${info.message})` : ''}`,
      );
      throw new AppError('DEPENDENCY_UNAVAILABLE', `Not ready: ${down.join(', ') || 'a dependency'} is down`);
    }
  }

  private async pingRedis() {
    const indicator = this.indicators.check('redis');
    try {
      const pong = await Promise.race([
        this.redis.ping(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]);
      return pong === 'PONG'
        ? indicator.up()
        : indicator.down({ message: `unexpected reply ${String(pong)}` });
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
