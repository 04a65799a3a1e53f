import { Body, Controller, Get, Param, ParseUUIDPipe, Patch, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { mapPage, toPageQuery } from '../common/pagination';
import { AdminOnly, ApiAuth } from '../common/decorators';
import {
  AdminUpdateUserDto,
  ListUsersQueryDto,
  toUserResponse,
  UserPageDto,
  UserResponseDto,
} from '../users/dto/user.dto';
import { UsersService } from '../users/users.service';

@ApiTags('admin')
@ApiAuth()
@AdminOnly()
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ operationId: 'adminListUsers', summary: 'List users (admins only)' })
  async listUsers(@Query() query: ListUsersQueryDto): Promise<UserPageDto> {
    const { email, isActive, isAdmin } = query;
    return mapPage(await this.users.list({ email, isActive, isAdmin }, toPageQuery(query)), toUserResponse);
  }

  @Patch(':id')
  @ApiConflictResponse({
    description: 'The change would leave no active administrator (LAST_ADMIN)',
  })
  @ApiOperation({
    operationId: 'adminUpdateUser',
    summary: 'Activate, deactivate, promote or demote a user (admins only)',
  })
  async updateUser(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: AdminUpdateUserDto,
  ): Promise<UserResponseDto> {
    return toUserResponse(await this.users.adminUpdate(id, dto));
  }
}
