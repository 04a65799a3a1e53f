import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { AdminStatsController } from './admin-stats.controller';
import { AdminStatsRepository } from './admin-stats.repository';
import { AdminStatsService } from './admin-stats.service';
import { AdminUsersController } from './admin-users.controller';
import { BullBoardSessions } from './bull-board';
import { BullBoardController } from './bull-board.controller';

@Module({
  imports: [UsersModule],
  controllers: [AdminUsersController, AdminStatsController, BullBoardController],
  providers: [AdminStatsService, AdminStatsRepository, BullBoardSessions],
  exports: [BullBoardSessions],
})
export class AdminModule {}
