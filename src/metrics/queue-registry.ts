import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Queue } from 'bull';

/** Counts of one Bull queue, by job state. */
export interface QueueDepth {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  paused: number;
}

function isBullQueue(value: unknown): value is Queue {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Queue).getJobCounts === 'function' &&
    typeof (value as Queue).name === 'string' &&
    typeof (value as Queue).add === 'function'
  );
}

/**
 * Every Bull queue registered anywhere in the app (`BullModule.registerQueue`), found by discovery, so metrics,
 * admin stats and Bull Board follow new queues without being edited.
 */
@Injectable()
export class QueueRegistry {
  private cached: Queue[] | null = null;

  constructor(private readonly discovery: DiscoveryService) {}

  queues(): Queue[] {
    if (!this.cached) {
      const byName = new Map<string, Queue>();
      for (const wrapper of this.discovery.getProviders()) {
        const instance: unknown = wrapper.isDependencyTreeStatic() ? wrapper.instance : undefined;
        if (isBullQueue(instance) && !byName.has(instance.name)) byName.set(instance.name, instance);
      }
      this.cached = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    }
    return this.cached;
  }

  /** Job counts per queue; a queue whose Redis does not answer in time is reported with -1 counts. */
  async depths(timeoutMs = 2000): Promise<QueueDepth[]> {
    return Promise.all(
      this.queues().map(async (queue) => {
        try {
          const counts = await Promise.race([
            queue.getJobCounts(),
            new Promise<never>((_, reject) =>
              setTimeout(() => reject(new Error('timeout')), timeoutMs).unref(),
            ),
          ]);
          const paused = (counts as unknown as { paused?: number }).paused ?? 0;
          return { name: queue.name, ...counts, paused };
        } catch {
          return {
            name: queue.name,
            waiting: -1,
            active: -1,
            delayed: -1,
            failed: -1,
            completed: -1,
            paused: -1,
          };
        }
      }),
    );
  }
}
