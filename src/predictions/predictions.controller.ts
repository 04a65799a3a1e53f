import { Controller, Get, Headers, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiGatewayTimeoutResponse,
  ApiHeader,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthContext } from '../common/auth-context';
import { ApiAuth, Auth } from '../common/decorators';
import { ErrorResponseDto } from '../common/error-response.dto';
import type { ModelAccess } from '../model-shares/model-access.service';
import { CurrentModel, RequireModelPermission } from '../model-shares/require-model-permission';
import {
  CreatePredictionDto,
  ListModelPredictionsQueryDto,
  ListPredictionsQueryDto,
  PredictionPageDto,
  PredictionResponseDto,
} from './dto/prediction.dto';
import { PredictionBody } from './prediction-body';
import { prefersRespondAsync } from './prediction-input';
import { sendPredictionOutcome } from './prediction-response';
import { ThrottlePredictions } from '../throttle/throttle.decorators';
import { PredictionsService } from './predictions.service';

@ApiTags('predictions')
@ApiAuth()
@Controller()
export class PredictionsController {
  constructor(private readonly predictions: PredictionsService) {}

  /** Writes the response itself (`@Res()`): the status (201 or 202) and headers depend on the outcome. */
  @Post('models/:id/predictions')
  @RequireModelPermission('use')
  @ThrottlePredictions()
  @ApiOperation({
    operationId: 'createPrediction',
    summary: 'Run a model on one input; with `Prefer: respond-async`, queue it and answer 202',
  })
  @ApiBody({ type: CreatePredictionDto })
  @ApiHeader({ name: 'Prefer', required: false, description: '`respond-async` queues the prediction (202)' })
  @ApiCreatedResponse({
    type: PredictionResponseDto,
    description: 'Ran (a deprecated model answers with `Deprecation: true` and a `Link`)',
  })
  @ApiAcceptedResponse({
    type: PredictionResponseDto,
    description: 'Queued: status `pending`; poll the `Location` (GET /predictions/{id})',
  })
  @ApiBadRequestResponse({
    description: 'The input does not fit the model (recorded as failed)',
    type: ErrorResponseDto,
  })
  @ApiConflictResponse({ description: 'The model is archived', type: ErrorResponseDto })
  @ApiPayloadTooLargeResponse({
    description: 'Body or input element count over the limit',
    type: ErrorResponseDto,
  })
  @ApiUnprocessableEntityResponse({
    description: 'The engine failed (recorded as failed)',
    type: ErrorResponseDto,
  })
  @ApiGatewayTimeoutResponse({
    description: 'Inference took too long (recorded as failed)',
    type: ErrorResponseDto,
  })
  async createPrediction(
    @Auth() auth: AuthContext,
    @CurrentModel() access: ModelAccess,
    @PredictionBody() dto: CreatePredictionDto,
    @Headers('prefer') prefer: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    sendPredictionOutcome(
      res,
      await this.predictions.create(auth, access, dto.input, { respondAsync: prefersRespondAsync(prefer) }),
    );
  }

  @Get('models/:id/predictions')
  @RequireModelPermission('use')
  @ApiOperation({
    operationId: 'listModelPredictions',
    summary: "A model's predictions: all of them for its owner, the caller's own for a share holder",
  })
  async listModelPredictions(
    @Auth() auth: AuthContext,
    @CurrentModel() access: ModelAccess,
    @Query() query: ListModelPredictionsQueryDto,
  ): Promise<PredictionPageDto> {
    return this.predictions.listForModel(auth, access, query);
  }

  @Get('predictions')
  @ApiOperation({ operationId: 'listPredictions', summary: 'Your predictions, newest first' })
  async listPredictions(
    @Auth() auth: AuthContext,
    @Query() query: ListPredictionsQueryDto,
  ): Promise<PredictionPageDto> {
    return this.predictions.listOwn(auth, query);
  }

  @Get('predictions/:id')
  @ApiOperation({
    operationId: 'getPrediction',
    summary: 'One of your predictions, or one made on a model you own',
  })
  async getPrediction(
    @Auth() auth: AuthContext,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<PredictionResponseDto> {
    return this.predictions.findOne(auth, id);
  }
}
