import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { AuthContext } from '../common/auth-context';
import { ApiAuth, Auth, LoginTokenOnly, Public } from '../common/decorators';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ChangePasswordDto } from '../users/dto/user.dto';
import { ThrottleAuth } from '../throttle/throttle.decorators';
import { AuthService } from './auth.service';
import { AuthResponseDto, LoginDto, RefreshDto, RegisterDto } from './dto/auth.dto';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @ThrottleAuth()
  @Post('register')
  @ApiOperation({ operationId: 'register', summary: 'Create an account with e-mail and password' })
  @ApiConflictResponse({
    description: 'The e-mail address is already registered (EMAIL_TAKEN)',
    type: ErrorResponseDto,
  })
  register(@Body() dto: RegisterDto): Promise<AuthResponseDto> {
    return this.auth.register(dto);
  }

  @Public()
  @ThrottleAuth()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ operationId: 'login', summary: 'Sign in with e-mail and password' })
  @ApiUnauthorizedResponse({
    description: 'Wrong e-mail or password (INVALID_CREDENTIALS), or a deactivated account (USER_INACTIVE)',
    type: ErrorResponseDto,
  })
  login(@Body() dto: LoginDto): Promise<AuthResponseDto> {
    return this.auth.login(dto);
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({ operationId: 'refreshToken', summary: 'Trade a refresh token (once) for a new token pair' })
  @ApiUnauthorizedResponse({
    description: 'The refresh token is invalid, expired or already used (INVALID_TOKEN)',
    type: ErrorResponseDto,
  })
  refresh(@Body() dto: RefreshDto): Promise<AuthResponseDto> {
    return this.auth.refresh(dto.refreshToken);
  }
}

@ApiTags('users')
@ApiAuth()
@Controller('users/me/password')
export class PasswordController {
  constructor(private readonly auth: AuthService) {}

  @Post()
  @HttpCode(200)
  @LoginTokenOnly(
    'Called with an API key (this route needs a login token), or the current password is not correct',
  )
  @ApiOperation({
    operationId: 'changePassword',
    summary: 'Change your password (needs the current one); signs out every other session',
  })
  changePassword(@Auth() auth: AuthContext, @Body() dto: ChangePasswordDto): Promise<AuthResponseDto> {
    return this.auth.changePassword(auth.user, dto);
  }
}
