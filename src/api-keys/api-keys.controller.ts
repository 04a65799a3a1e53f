import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../common/auth-context';
import { ApiAuth, Auth, LoginTokenOnly } from '../common/decorators';
import { PageQueryDto, toPageQuery } from '../common/pagination';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyPageDto, CreateApiKeyDto, CreatedApiKeyResponseDto } from './dto/api-key.dto';

/** Key management needs a login token: a leaked key must not be able to mint or list keys. */
@ApiTags('api-keys')
@ApiAuth()
@LoginTokenOnly()
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiConflictResponse({
    description: 'You already have 50 active API keys (API_KEY_LIMIT); revoke one first',
  })
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Create an API key (the key is shown only in this response)',
  })
  createApiKey(@Auth() auth: AuthContext, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyResponseDto> {
    return this.apiKeys.create(auth, dto);
  }

  @Get()
  @ApiOperation({
    operationId: 'listApiKeys',
    summary: 'Your API keys, newest first (never the keys themselves)',
  })
  listApiKeys(@Auth() auth: AuthContext, @Query() query: PageQueryDto): Promise<ApiKeyPageDto> {
    return this.apiKeys.list(auth, toPageQuery(query));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'revokeApiKey',
    summary: 'Revoke one of your API keys; it is refused from the next request on',
  })
  revokeApiKey(@Auth() auth: AuthContext, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.apiKeys.revoke(auth, id);
  }
}
