import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Patch,
  Post,
  Query,
  StreamableFile,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiTags,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { AuthContext } from '../common/auth-context';
import { ApiAuth, Auth, MultipartBody } from '../common/decorators';
import { ErrorResponseDto } from '../common/error-response.dto';
import { PageQueryDto } from '../common/pagination';
import type { ModelAccess } from '../model-shares/model-access.service';
import { CurrentModel, RequireModelPermission } from '../model-shares/require-model-permission';
import {
  CreateModelDto,
  CreateModelVersionDto,
  ListModelsQueryDto,
  ModelPageDto,
  ModelResponseDto,
  UpdateModelDto,
} from './dto/model.dto';
import { toModelFileResponse, toModelResponse } from './dto/model.mapper';
import { ModelUploadInterceptor } from './model-upload.interceptor';
import { ModelsService, UploadedModelFile } from './models.service';
import { mapPage } from '../common/pagination';

@ApiTags('models')
@ApiAuth()
@Controller('models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Post()
  @UseInterceptors(ModelUploadInterceptor, FileInterceptor('file'))
  @MultipartBody()
  @ApiBody({ type: CreateModelDto })
  @ApiOperation({
    operationId: 'uploadModel',
    summary: 'Upload an ONNX model (a new version when you already have the name)',
    description:
      'The file is loaded by the inference engine before anything is stored. `inputSchema`/`outputSchema` are ' +
      'derived from the graph unless given. `modelMetadata` holds what was read from the file (producer, IR ' +
      "version, opsets, graph inputs and outputs with symbolic dimensions, sha256); the uploader's `metadata` " +
      'object is kept as it is under `modelMetadata.user`, so it never overwrites facts read from the file.',
  })
  @ApiCreatedResponse({ type: ModelResponseDto })
  @ApiPayloadTooLargeResponse({ description: 'The file is over MAX_UPLOAD_BYTES', type: ErrorResponseDto })
  @ApiUnsupportedMediaTypeResponse({ description: 'Not multipart/form-data', type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({
    description: 'Not ONNX, truncated, or does not load',
    type: ErrorResponseDto,
  })
  async upload(
    @Auth() auth: AuthContext,
    @UploadedFile() file: UploadedModelFile | undefined,
    @Body() dto: CreateModelDto,
  ): Promise<ModelResponseDto> {
    return toModelResponse(await this.models.create(auth, file, dto));
  }

  @Post(':id/versions')
  @RequireModelPermission('edit')
  @UseInterceptors(ModelUploadInterceptor, FileInterceptor('file'))
  @MultipartBody()
  @ApiBody({ type: CreateModelVersionDto })
  @ApiOperation({
    operationId: 'uploadModelVersion',
    summary: "Upload the next version of this model's name (owner or an edit share)",
    description: 'Like uploadModel, but the name and the owner are those of the model in the path.',
  })
  @ApiCreatedResponse({ type: ModelResponseDto })
  @ApiPayloadTooLargeResponse({ description: 'The file is over MAX_UPLOAD_BYTES', type: ErrorResponseDto })
  @ApiUnsupportedMediaTypeResponse({ description: 'Not multipart/form-data', type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({
    description: 'Not ONNX, truncated, or does not load',
    type: ErrorResponseDto,
  })
  async uploadVersion(
    @CurrentModel() { model }: ModelAccess,
    @UploadedFile() file: UploadedModelFile | undefined,
    @Body() dto: CreateModelVersionDto,
  ): Promise<ModelResponseDto> {
    return toModelResponse(await this.models.createVersion(model, file, dto));
  }

  @Get()
  @ApiOperation({ operationId: 'listModels', summary: 'Your models and those shared with you, newest first' })
  async list(@Auth() auth: AuthContext, @Query() query: ListModelsQueryDto): Promise<ModelPageDto> {
    return mapPage(await this.models.list(auth, query), toModelResponse);
  }

  @Get(':id')
  @RequireModelPermission('view')
  @ApiOperation({ operationId: 'getModel', summary: 'One model' })
  getModel(@CurrentModel() { model }: ModelAccess): ModelResponseDto {
    return toModelResponse(model);
  }

  @Get(':id/versions')
  @RequireModelPermission('view')
  @ApiOperation({
    operationId: 'listModelVersions',
    summary: "Every version of this model's name, newest first",
  })
  async listVersions(
    @CurrentModel() { model }: ModelAccess,
    @Query() query: PageQueryDto,
  ): Promise<ModelPageDto> {
    return mapPage(await this.models.listVersions(model, query), toModelResponse);
  }

  @Get(':id/file')
  @RequireModelPermission('view')
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' }, description: 'The ONNX file as uploaded' })
  @ApiOperation({ operationId: 'downloadModelFile', summary: 'Download the ONNX file' })
  async downloadFile(@CurrentModel() { model }: ModelAccess): Promise<StreamableFile> {
    return toModelFileResponse(await this.models.openFile(model));
  }

  @Patch(':id')
  @RequireModelPermission('edit')
  @ApiOperation({ operationId: 'updateModel', summary: 'Change description, schemas, metadata or status' })
  async update(
    @CurrentModel() { model }: ModelAccess,
    @Body() dto: UpdateModelDto,
  ): Promise<ModelResponseDto> {
    return toModelResponse(await this.models.update(model, dto));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireModelPermission('owner')
  @ApiOperation({
    operationId: 'deleteModel',
    summary: 'Delete a model version with its shares and predictions',
  })
  async remove(@CurrentModel() { model }: ModelAccess): Promise<void> {
    await this.models.remove(model);
  }
}
