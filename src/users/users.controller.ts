import { Body, Controller, Get, Patch } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAuth, Auth } from '../common/decorators';
import type { AuthContext } from '../common/auth-context';
import { toUserResponse, UpdateMeDto, UserResponseDto } from './dto/user.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiAuth()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOperation({ operationId: 'getMe', summary: 'The signed-in user' })
  getMe(@Auth() auth: AuthContext): UserResponseDto {
    return toUserResponse(auth.user);
  }

  @Patch('me')
  @ApiOperation({ operationId: 'updateMe', summary: 'Change your name or avatar' })
  async updateMe(@Auth() auth: AuthContext, @Body() dto: UpdateMeDto): Promise<UserResponseDto> {
    return toUserResponse(await this.users.updateProfile(auth.user, dto));
  }
}
