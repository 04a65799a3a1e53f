import { EntityRepository } from '@mikro-orm/postgresql';
import type { ApiKey } from './api-key.entity';

export class ApiKeysRepository extends EntityRepository<ApiKey> {}
