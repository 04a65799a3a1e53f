import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  lookup as dnsLookup,
  type LookupAddress,
  type LookupAllOptions,
  type LookupOneOptions,
} from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { urlToHttpOptions } from 'node:url';
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
const STALE_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE']);

export class RefusedTargetError extends Error {
  readonly code = 'EWEBHOOKTARGET';
}

/** A webhook URL as `http(s).request` takes it, or why it is refused before any connection. */
type Target = { isHttps: boolean; options: http.RequestOptions } | { refused: string };

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

/** Sends webhook requests with node:http(s): no redirects followed, SSRF guard at connect time, hard timeout. */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  private readonly allowPrivate: boolean;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly targets = new Map<string, Target>();

  constructor(config: ConfigService<AppConfig, true>) {
    this.allowPrivate = config.get('webhooks', { infer: true }).allowPrivateTargets;
    const lookup = this.allowPrivate ? undefined : (guardedLookup as unknown as LookupFunction);
    // Connections are kept open between deliveries to the same host: a new TCP connection (and for https a TLS
    // handshake) per delivery cost more than the delivery itself. The SSRF guard still holds, as it runs when a
    // socket connects and a kept socket stays connected to the address it was allowed to reach. Idle sockets
    // close after FREE_SOCKET_TIMEOUT_MS, under the 5 s keep-alive timeout of common servers (Node's included).
    const agent = { keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS, maxFreeSockets: 64, lookup };
    this.httpAgent = new http.Agent(agent);
    this.httpsAgent = new https.Agent(agent);
  }

  onModuleDestroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  send(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendResult> {
    const started = process.hrtime.bigint();
    const elapsed = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      // Set once the request starts; early refusals finish before there is anything to time out.
      const deadline: { timer?: NodeJS.Timeout } = {};
      const finish = (result: Omit<SendResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline.timer);
        resolve({ ...result, durationMs: elapsed() });
      };
      const fail = (error: string) => finish({ status: null, body: null, error, retryAfterMs: null });

      const target = this.target(url);
      if ('refused' in target) return fail(target.refused);

      const { isHttps } = target;
      const client = isHttps ? https : http;
      let request: http.ClientRequest;
      deadline.timer = setTimeout(() => {
        request.destroy();
        fail(`Timed out after ${timeoutMs} ms`);
      }, timeoutMs);
      const start = (retryOnStaleSocket: boolean) => {
        request = client.request({
          ...target.options,
          method: 'POST',
          agent: isHttps ? this.httpsAgent : this.httpAgent,
          headers: { ...headers, 'content-length': Buffer.byteLength(body).toString() },
          ...(this.allowPrivate ? {} : { lookup: guardedLookup as unknown as LookupFunction }),
        });
        request.on('response', (response) => onResponse(response));
        request.on('error', (error: NodeJS.ErrnoException) => {
          if (settled) return; // our own timeout destroyed it
          // A kept-alive socket the server closed meanwhile fails before anything was answered: send once more on a
          // fresh connection rather than count it as a failed attempt (Node's documented pattern, `reusedSocket`).
          if (retryOnStaleSocket && request.reusedSocket && STALE_SOCKET_ERRORS.has(error.code ?? '')) {
            start(false);
            return;
          }
          if (error instanceof RefusedTargetError) return fail(error.message);
          fail(`Connection failed: ${error.code ? `${error.code} ` : ''}${error.message}`.trim());
        });
        request.end(body);
      };
      const onResponse = (response: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < RESPONSE_BODY_LIMIT) {
            chunks.push(chunk.subarray(0, RESPONSE_BODY_LIMIT - kept));
            kept += Math.min(chunk.length, RESPONSE_BODY_LIMIT - kept);
          } else {
            // Enough for the log: stop reading a large body instead of downloading it.
            response.destroy();
            done();
          }
        });
        const done = () =>
          finish({
            status: response.statusCode ?? null,
            body: Buffer.concat(chunks).toString('utf8'),
            error: null,
            retryAfterMs: parseRetryAfter(response.headers['retry-after']),
          });
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      };
      start(true);
    });
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

function parseTarget(url: string, allowPrivate: boolean): Target {
  if (!URL.canParse(url)) return { refused: 'The webhook URL is not a valid URL' };
  const parsed = new URL(url);
  const ip = literalIp(parsed.hostname);
  const reason = ip && !allowPrivate ? classifyAddress(ip) : null;
  if (reason) return { refused: `Refused to connect to ${ip} (${reason})` };
  return { isHttps: parsed.protocol === 'https:', options: urlToHttpOptions(parsed) };
}
