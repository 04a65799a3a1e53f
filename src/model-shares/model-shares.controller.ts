import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../common/auth-context';
import { ApiAuth, Auth } from '../common/decorators';
import { PageQueryDto, toPageQuery } from '../common/pagination';
import {
  CreateModelShareDto,
  ModelSharePageDto,
  ModelShareResponseDto,
  ReceivedSharePageDto,
  UpdateModelShareDto,
} from './dto/model-share.dto';
import type { ModelAccess } from './model-access.service';
import { ModelSharesService } from './model-shares.service';
import { CurrentModel, RequireModelPermission } from './require-model-permission';

/** Only the owner (or an admin) manages a model's shares. */
@ApiTags('model-shares')
@ApiAuth()
@ApiParam({ name: 'id', description: 'Any version of the model; shares cover every version', format: 'uuid' })
@RequireModelPermission('owner')
@Controller('models/:id/shares')
export class ModelSharesController {
  constructor(private readonly shares: ModelSharesService) {}

  @Post()
  @ApiOperation({ operationId: 'shareModel', summary: 'Share a model (all its versions) with another user' })
  shareModel(
    @CurrentModel() access: ModelAccess,
    @Body() dto: CreateModelShareDto,
  ): Promise<ModelShareResponseDto> {
    return this.shares.grant(access, dto);
  }

  @Get()
  @ApiOperation({ operationId: 'listModelShares', summary: "The model's shares, newest first" })
  listModelShares(
    @CurrentModel() access: ModelAccess,
    @Query() query: PageQueryDto,
  ): Promise<ModelSharePageDto> {
    return this.shares.list(access, toPageQuery(query));
  }

  @Patch(':shareId')
  @ApiOperation({ operationId: 'updateModelShare', summary: "Change a share's permission" })
  updateModelShare(
    @CurrentModel() access: ModelAccess,
    @Param('shareId', new ParseUUIDPipe()) shareId: string,
    @Body() dto: UpdateModelShareDto,
  ): Promise<ModelShareResponseDto> {
    return this.shares.update(access, shareId, dto);
  }

  @Delete(':shareId')
  @HttpCode(204)
  @ApiOperation({ operationId: 'revokeModelShare', summary: 'Stop sharing the model with that user' })
  revokeModelShare(
    @CurrentModel() access: ModelAccess,
    @Param('shareId', new ParseUUIDPipe()) shareId: string,
  ): Promise<void> {
    return this.shares.revoke(access, shareId);
  }
}

@ApiTags('model-shares')
@ApiAuth()
@Controller('shares')
export class ReceivedSharesController {
  constructor(private readonly shares: ModelSharesService) {}

  @Get('received')
  @ApiOperation({
    operationId: 'listReceivedShares',
    summary: 'Models other users shared with you, with your permission',
  })
  listReceivedShares(@Auth() auth: AuthContext, @Query() query: PageQueryDto): Promise<ReceivedSharePageDto> {
    return this.shares.listReceived(auth, toPageQuery(query));
  }
}
