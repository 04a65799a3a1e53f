import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { MikroORM, RequestContext } from '@mikro-orm/core';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { AppConfig } from '../config/app.config';
import { QueueRegistry } from '../metrics/queue-registry';
import { UsersService } from '../users/users.service';

/** Where the dashboard is served (outside /api/v1 and outside Swagger). */
export const BULL_BOARD_PATH = '/admin/queues';
export const BULL_BOARD_COOKIE = 'mp_queues';
const SESSION_TTL_SECONDS = 30 * 60;

/**
 * Dashboard sessions: `POST /api/v1/admin/queues/session` (an admin, with a login token or API key) sets a
 * short-lived, HttpOnly cookie scoped to /admin/queues, because a browser cannot add an Authorization header to
 * page loads. The cookie is `<userId>.<expiresAt>.<hmac>`; the user is re-checked (active admin) on every request.
 */
@Injectable()
export class BullBoardSessions {
  private readonly key: Buffer;
  private readonly secure: boolean;

  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly users: UsersService,
    private readonly orm: MikroORM,
  ) {
    this.key = createHmac('sha256', config.get('jwt', { infer: true }).secret)
      .update('bull-board-session')
      .digest();
    this.secure = config.get('publicUrl', { infer: true }).startsWith('https:');
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  issue(userId: string, now = Date.now()): { cookie: string; expiresAt: Date } {
    const expiresAt = new Date(now + SESSION_TTL_SECONDS * 1000);
    const payload = `${userId}.${expiresAt.getTime()}`;
    const value = `${payload}.${this.sign(payload)}`;
    const attributes = [
      `${BULL_BOARD_COOKIE}=${value}`,
      `Path=${BULL_BOARD_PATH}`,
      `Max-Age=${SESSION_TTL_SECONDS}`,
      'HttpOnly',
      'SameSite=Strict',
      ...(this.secure ? ['Secure'] : []),
    ];
    return { cookie: attributes.join('; '), expiresAt };
  }

  /** The admin's user id when the cookie is valid, unexpired and the user is still an active admin. */
  async verify(cookieHeader: string | undefined, now = Date.now()): Promise<string | null> {
    const raw = (cookieHeader ?? '')
      .split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${BULL_BOARD_COOKIE}=`))
      ?.slice(BULL_BOARD_COOKIE.length + 1);
    const [userId, expires, signature] = raw?.split('.') ?? [];
    if (!userId || !expires || !signature) return null;
    const expected = Buffer.from(this.sign(`${userId}.${expires}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    if (!(Number(expires) > now)) return null;
    const user = await RequestContext.create(this.orm.em, () => this.users.findById(userId));
    return user?.isActive && user.isAdmin ? user.id : null;
  }
}

function deny(res: Response, status: number, message: string): void {
  res.status(status).json({
    statusCode: status,
    error: STATUS_CODES[status],
    message,
    code: status === 401 ? 'UNAUTHENTICATED' : 'DEPENDENCY_UNAVAILABLE',
    requestId: (res.req as Request & { id?: string }).id ?? '',
  });
}

/** Mounts Bull Board at /admin/queues behind the admin session cookie (called by configureApp). */
export function mountBullBoard(app: INestApplication): void {
  const sessions = app.get(BullBoardSessions);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  const queues = app.get(QueueRegistry).queues();
  createBullBoard({
    queues: queues.map((queue) => new BullAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Modelport queues' } },
  });
  const router = serverAdapter.getRouter() as (req: Request, res: Response, next: NextFunction) => void;
  app.use(BULL_BOARD_PATH, (req: Request, res: Response, next: NextFunction) => {
    sessions.verify(req.headers.cookie).then(
      (userId) => {
        if (!userId) {
          deny(
            res,
            401,
            'Sign in first: POST /api/v1/admin/queues/session as an administrator, then reload this page',
          );
          return;
        }
        res.setHeader('Cache-Control', 'no-store');
        router(req, res, next);
      },
      () => deny(res, 503, 'The database is unavailable'),
    );
  });
}
