import { type EntityManager, RequestContext } from '@mikro-orm/core';

/**
 * Runs `fn` in the current MikroORM request context, or in a fresh one forked from `em` when there is none (code
 * that runs outside Nest's request pipeline, like the prediction fast path). MikroORM's own @EnsureRequestContext
 * does the same but only recognises real ORM instances, which unit tests replace with fakes.
 */
export function inRequestContext<T>(em: EntityManager, fn: () => Promise<T>): Promise<T> {
  if (RequestContext.getEntityManager(em.name)) return fn();
  return RequestContext.create(em, fn);
}
