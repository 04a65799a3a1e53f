import { MikroOrmModule } from '@mikro-orm/nestjs';
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { StorageModule } from '../storage/storage.module';
import { InputValidators } from './input-validators';
import { Prediction } from './prediction.entity';
import { PredictionQueue } from './prediction-queue';
import { PREDICTIONS_QUEUE } from './predictions.constants';
import { PredictionsController } from './predictions.controller';
import { PredictionsProcessor } from './predictions.processor';
import { PredictionsService } from './predictions.service';

/**
 * Predictions: run a model (now, or queued on Bull's `predictions` queue), record every attempt, list them.
 * InferenceModule and StorageModule are global; importing them here too keeps this module bootable on its own
 * (Nest instantiates each module once however many import it).
 */
@Module({
  imports: [
    MikroOrmModule.forFeature([Prediction]),
    BullModule.registerQueue({ name: PREDICTIONS_QUEUE }),
    InferenceModule,
    StorageModule,
  ],
  controllers: [PredictionsController],
  providers: [
    PredictionsService,
    PredictionQueue,
    PredictionsProcessor,
    { provide: InputValidators, useFactory: () => new InputValidators() },
  ],
  exports: [PredictionsService],
})
export class PredictionsModule {}
