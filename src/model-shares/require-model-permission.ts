import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiForbiddenResponse, ApiNotFoundResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { AppError } from '../common/app-error';
import type { AuthenticatedRequest } from '../common/auth-context';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ModelAccess, ModelAccessService, ModelPermission } from './model-access.service';

const REQUIRED_PERMISSION = 'modelport:modelPermission';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type RequestWithModel = Request & AuthenticatedRequest & { modelAccess?: ModelAccess };

/** Resolves the model named by the `:id` route parameter and checks the caller's permission on it. */
@Injectable()
export class ModelPermissionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: ModelAccessService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const needed = this.reflector.getAllAndOverride<ModelPermission>(REQUIRED_PERMISSION, [
      context.getHandler(),
      context.getClass(),
    ]);
    const req = context.switchToHttp().getRequest<RequestWithModel>();
    if (!needed || !req.auth) return true;
    const id = req.params.id;
    if (typeof id !== 'string' || !UUID.test(id))
      throw new AppError('VALIDATION_FAILED', 'id must be a UUID');
    req.modelAccess = await this.access.require(req.auth, id, needed);
    return true;
  }
}

/**
 * The route's `:id` is a model on which the caller needs `permission`: 404 when they cannot see it, 403 when
 * they can but not enough. The handler reads the loaded model with `@CurrentModel()`.
 */
export const RequireModelPermission = (permission: ModelPermission) =>
  applyDecorators(
    SetMetadata(REQUIRED_PERMISSION, permission),
    UseGuards(ModelPermissionGuard),
    ApiNotFoundResponse({
      description: 'No such model, or not visible to the caller',
      type: ErrorResponseDto,
    }),
    ApiForbiddenResponse({
      description: `Visible, but the "${permission}" permission is needed`,
      type: ErrorResponseDto,
    }),
  );

/** The model (and the caller's effective permission) resolved by `@RequireModelPermission`. */
export const CurrentModel = createParamDecorator((_data: unknown, ctx: ExecutionContext): ModelAccess => {
  const access = ctx.switchToHttp().getRequest<RequestWithModel>().modelAccess;
  if (!access) throw new Error('@CurrentModel() used on a route without @RequireModelPermission()');
  return access;
});
