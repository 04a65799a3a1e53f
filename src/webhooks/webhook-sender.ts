import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  lookup as dnsLookup,
  type LookupAddress,
  type LookupAllOptions,
  type LookupOneOptions,
} from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent } from 'undici';
import type { AppConfig } from '../config/app.config';
import { parseRetryAfter } from './backoff';
import { classifyAddress, literalIp } from './ssrf';

export const RESPONSE_BODY_LIMIT = 2048;

export interface SendResult {
  /** HTTP status, or null when no response arrived (timeout, refused target, connection error). */
  status: number | null;
  /** The first 2 KB of the response body. */
  body: string | null;
  durationMs: number;
  error: string | null;
  retryAfterMs: number | null;
}

/** Idle kept-alive connections to webhook targets are closed after this long. */
const FREE_SOCKET_TIMEOUT_MS = 4_000;
/** Parsed webhook URLs kept per process (they are few: one per webhook); the map is emptied when it is full. */
const TARGET_CACHE_MAX = 1_000;
/** How a request on a kept-alive socket that the server had already closed fails. */
const STALE_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

export class RefusedTargetError extends Error {
  readonly code = 'EWEBHOOKTARGET';
}

/**
 * A webhook URL as the dispatcher takes it, or why it is refused before any connection. `authorization` is the
 * Basic credentials of a URL like `https://user:pass@host/` (as node:http sends them: unless the webhook's own
 * headers set Authorization).
 */
type Target = { origin: string; path: string; authorization?: string } | { refused: string };

/**
 * A DNS lookup that refuses names resolving to non-public addresses. It runs when the socket connects, so a name
 * that resolved to a public address at registration and to 127.0.0.1 now (DNS rebinding) is still refused.
 */
export function guardedLookup(
  hostname: string,
  options: LookupOneOptions | LookupAllOptions,
  callback: (...args: unknown[]) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error);
    for (const { address } of addresses) {
      const reason = classifyAddress(address);
      if (reason) {
        return callback(
          new RefusedTargetError(`Refused to connect to ${hostname}: it resolves to ${address} (${reason})`),
        );
      }
    }
    if ((options as LookupAllOptions).all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(new RefusedTargetError(`${hostname} has no addresses`));
    return callback(null, first.address, first.family);
  });
}

/**
 * Sends webhook requests with undici (a kept-alive connection pool per origin): no redirects followed, SSRF guard
 * at connect time, hard timeout. undici costs about a third less CPU a request than `node:http`'s client, which
 * is most of what a delivery costs (bench/README.md, session 6).
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  private readonly allowPrivate: boolean;
  private readonly dispatcher: Agent;
  private readonly targets = new Map<string, Target>();

  constructor(config: ConfigService<AppConfig, true>) {
    this.allowPrivate = config.get('webhooks', { infer: true }).allowPrivateTargets;
    // Connections are kept open between deliveries to the same origin: a new TCP connection (and for https a TLS
    // handshake) per delivery cost more than the delivery itself. The SSRF guard still holds, as it runs when a
    // socket connects and a kept socket stays connected to the address it was allowed to reach. Idle sockets
    // close after FREE_SOCKET_TIMEOUT_MS (or sooner when the server's Keep-Alive header says so), under the 5 s
    // keep-alive timeout of common servers (Node's included).
    this.dispatcher = new Agent({
      keepAliveTimeout: FREE_SOCKET_TIMEOUT_MS,
      keepAliveMaxTimeout: FREE_SOCKET_TIMEOUT_MS,
      connect: this.allowPrivate ? {} : { lookup: guardedLookup as unknown as LookupFunction },
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.dispatcher.destroy();
  }

  async send(
    url: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<SendResult> {
    const started = process.hrtime.bigint();
    const elapsed = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
    const failed = (error: string): SendResult => ({
      status: null,
      body: null,
      error,
      retryAfterMs: null,
      durationMs: elapsed(),
    });
    const target = this.target(url);
    if ('refused' in target) return failed(target.refused);

    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      // A kept-alive socket the server closed just as this request went out fails before anything was answered:
      // send once more on a fresh connection rather than count it as a failed attempt.
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.request(target, headers, body, abort.signal, elapsed);
        } catch (error) {
          if (abort.signal.aborted) return failed(`Timed out after ${timeoutMs} ms`);
          if (attempt === 0 && isStaleSocket(error)) continue;
          if (error instanceof RefusedTargetError) return failed(error.message);
          const { code, message } = error as { code?: string; message?: string };
          return failed(`Connection failed: ${code ? `${code} ` : ''}${message ?? String(error)}`.trim());
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async request(
    target: Exclude<Target, { refused: string }>,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
    elapsed: () => number,
  ): Promise<SendResult> {
    const response = await this.dispatcher.request({
      origin: target.origin,
      path: target.path,
      method: 'POST',
      headers:
        target.authorization && !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')
          ? { ...headers, authorization: target.authorization }
          : headers,
      body,
      signal,
    });
    // The first RESPONSE_BODY_LIMIT bytes, for the delivery log; a larger body is not downloaded.
    const chunks: Buffer[] = [];
    let kept = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      chunks.push(chunk.subarray(0, RESPONSE_BODY_LIMIT - kept));
      kept += Math.min(chunk.length, RESPONSE_BODY_LIMIT - kept);
      if (kept >= RESPONSE_BODY_LIMIT) {
        response.body.destroy();
        break;
      }
    }
    const retryAfter = response.headers['retry-after'];
    return {
      status: response.statusCode,
      body: Buffer.concat(chunks).toString('utf8'),
      error: null,
      retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
      durationMs: elapsed(),
    };
  }

  /** The URL parsed (and a literal IP address checked) once per URL rather than once per delivery. */
  private target(url: string): Target {
    let target = this.targets.get(url);
    if (target) return target;
    target = parseTarget(url, this.allowPrivate);
    if (this.targets.size >= TARGET_CACHE_MAX) this.targets.clear();
    this.targets.set(url, target);
    return target;
  }
}

/** How a request on a kept-alive socket that the server had already closed fails, before any response. */
function isStaleSocket(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return STALE_SOCKET_ERRORS.has(code);
}

function parseTarget(url: string, allowPrivate: boolean): Target {
  if (!URL.canParse(url)) return { refused: 'The webhook URL is not a valid URL' };
  const parsed = new URL(url);
  const ip = literalIp(parsed.hostname);
  const reason = ip && !allowPrivate ? classifyAddress(ip) : null;
  if (reason) return { refused: `Refused to connect to ${ip} (${reason})` };
  const target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
  if (!parsed.username && !parsed.password) return target;
  const credentials = `${decodeOrKeep(parsed.username)}:${decodeOrKeep(parsed.password)}`;
  return { ...target, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/** A percent-encoded URL part decoded; as written when it is not valid percent-encoding. */
function decodeOrKeep(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
