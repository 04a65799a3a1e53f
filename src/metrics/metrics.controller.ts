import { Controller, Get, Header, Headers, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../common/app-error';
import { Public } from '../common/decorators';
import type { AppConfig } from '../config/app.config';
import { MetricsService } from './metrics.service';

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison is constant-time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Prometheus scrape endpoint at `/metrics` (outside /api/v1); open unless METRICS_TOKEN is set. */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  private readonly token: string | null;

  constructor(
    private readonly metrics: MetricsService,
    config: ConfigService<AppConfig, true>,
  ) {
    this.token = config.get('metrics', { infer: true }).token;
  }

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    if (this.token !== null) {
      const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
      if (!presented || !sameSecret(presented, this.token)) {
        throw new AppError('UNAUTHENTICATED', 'Metrics need Authorization: Bearer <METRICS_TOKEN>');
      }
    }
    // Set only on success, so an error keeps the JSON error shape.
    res.setHeader('Content-Type', this.metrics.contentType());
    return this.metrics.render();
  }
}
