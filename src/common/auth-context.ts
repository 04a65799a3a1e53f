import type { ApiKey } from '../api-keys/api-key.entity';
import type { User } from '../users/user.entity';

/** Who is calling: a login token resolves to `{ user }`, an API key to `{ user, apiKey }`. */
export interface AuthContext {
  user: User;
  apiKey?: ApiKey;
}

export interface AuthenticatedRequest {
  id?: string;
  auth?: AuthContext;
}
