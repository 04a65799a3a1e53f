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

export class RefusedTargetError extends Error {
  readonly code = 'EWEBHOOKTARGET';
}

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

  constructor(config: ConfigService<AppConfig, true>) {
    this.allowPrivate = config.get('webhooks', { infer: true }).allowPrivateTargets;
    const lookup = this.allowPrivate ? undefined : (guardedLookup as unknown as LookupFunction);
    this.httpAgent = new http.Agent({ keepAlive: false, lookup });
    this.httpsAgent = new https.Agent({ keepAlive: false, lookup });
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

      const target = URL.canParse(url) ? new URL(url) : null;
      if (!target) return fail('The webhook URL is not a valid URL');
      const ip = literalIp(target.hostname);
      const reason = ip && !this.allowPrivate ? classifyAddress(ip) : null;
      if (reason) return fail(`Refused to connect to ${ip} (${reason})`);

      const isHttps = target.protocol === 'https:';
      const client = isHttps ? https : http;
      deadline.timer = setTimeout(() => {
        request.destroy();
        fail(`Timed out after ${timeoutMs} ms`);
      }, timeoutMs);
      const request = client.request(target, {
        method: 'POST',
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        headers: { ...headers, 'content-length': Buffer.byteLength(body).toString() },
        ...(this.allowPrivate ? {} : { lookup: guardedLookup as unknown as LookupFunction }),
      });
      request.on('response', (response) => {
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
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof RefusedTargetError) return fail(error.message);
        fail(`Connection failed: ${error.code ? `${error.code} ` : ''}${error.message}`.trim());
      });
      request.end(body);
    });
  }
}
