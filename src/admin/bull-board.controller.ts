import { Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthContext } from '../common/auth-context';
import { AdminOnly, ApiAuth, Auth } from '../common/decorators';
import { QueueDashboardSessionDto } from './bull-board.dto';
import { BULL_BOARD_PATH, BullBoardSessions } from './bull-board';

@ApiTags('admin')
@ApiAuth()
@AdminOnly()
@Controller('admin/queues')
export class BullBoardController {
  constructor(private readonly sessions: BullBoardSessions) {}

  @Post('session')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'createQueueDashboardSession',
    summary:
      'Sign this browser in to the Bull Board queue dashboard at /admin/queues (a 30-minute HttpOnly cookie)',
  })
  createSession(
    @Auth() auth: AuthContext,
    @Res({ passthrough: true }) res: Response,
  ): QueueDashboardSessionDto {
    const { cookie, expiresAt } = this.sessions.issue(auth.user.id);
    res.setHeader('Set-Cookie', cookie);
    return { url: BULL_BOARD_PATH, expiresAt };
  }
}
