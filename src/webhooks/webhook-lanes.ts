/** A request to a webhook that has run this long makes it a slow one. */
export const SLOW_REQUEST_MS = 1000;
/** A webhook stays slow this long after its last slow request. */
export const SLOW_FOR_MS = 60_000;
/** Requests one process has in flight at once to a slow webhook. */
export const SENDS_PER_SLOW_WEBHOOK = 2;

/** What `run` answers when `maxWaitMs` passed before the lane had room (the task did not run). */
export const LANE_WAIT_EXPIRED = Symbol('lane wait expired');

interface Waiter {
  /** true: the lane had room (counted as active); false: the wait expired. */
  resolve: (admitted: boolean) => void;
  timer?: NodeJS.Timeout;
}

interface Lane {
  /** Holders: attempts of this webhook past their lane, waiting for or using a send slot. */
  active: number;
  waiting: Waiter[];
  /** Its requests on the wire now, with their start times. */
  sending: Set<{ started: number }>;
}

/**
 * Each webhook's share of a process's send slots (WEBHOOKS_DELIVERY_CONCURRENCY, `total`), so one tenant's slow
 * endpoint cannot hold up the others' deliveries:
 * - a webhook never holds every slot (at most `total - 1`), so another webhook always has one;
 * - a slow webhook (a request over SLOW_REQUEST_MS, on the wire now or within SLOW_FOR_MS) holds at most
 *   SENDS_PER_SLOW_WEBHOOK.
 * A fast webhook thus keeps nearly every slot (a single busy receiver is not slowed down), and a slow one is
 * held to two from the moment its first request has taken a second.
 */
export class WebhookLanes {
  private readonly lanes = new Map<string, Lane>();
  private readonly slowUntil = new Map<string, number>();

  constructor(
    private readonly total: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a new attempt for this webhook would wait for its lane. */
  full(webhookId: string): boolean {
    const lane = this.lanes.get(webhookId);
    return lane !== undefined && lane.active >= this.limit(webhookId, lane);
  }

  /** Whether the webhook counts as slow now (a request over SLOW_REQUEST_MS on the wire or recently). */
  isSlow(webhookId: string): boolean {
    const lane = this.lanes.get(webhookId);
    return this.slow(webhookId, lane);
  }

  /** Attempts of this webhook waiting for their lane. */
  queued(webhookId: string): number {
    return this.lanes.get(webhookId)?.waiting.length ?? 0;
  }

  /**
   * Runs `task` once the webhook's lane has room; with `maxWaitMs`, gives up waiting after that long and answers
   * LANE_WAIT_EXPIRED without running it. The lane is dropped when nothing uses it.
   */
  async run<T>(
    webhookId: string,
    task: () => Promise<T>,
    maxWaitMs?: number,
  ): Promise<T | typeof LANE_WAIT_EXPIRED> {
    let lane = this.lanes.get(webhookId);
    if (!lane) {
      lane = { active: 0, waiting: [], sending: new Set() };
      this.lanes.set(webhookId, lane);
    }
    if (lane.active >= this.limit(webhookId, lane)) {
      const admitted = await this.wait(lane, maxWaitMs);
      if (!admitted) {
        this.dropIfIdle(webhookId, lane);
        return LANE_WAIT_EXPIRED;
      }
    } else {
      lane.active += 1;
    }
    try {
      return await task();
    } finally {
      lane.active -= 1;
      this.wake(webhookId, lane);
      this.dropIfIdle(webhookId, lane);
    }
  }

  /**
   * Marks a request to the webhook as on the wire (call within `run`); the returned function marks it finished
   * and notes whether it was slow.
   */
  sending(webhookId: string): () => void {
    const lane = this.lanes.get(webhookId);
    const request = { started: this.now() };
    lane?.sending.add(request);
    return () => {
      lane?.sending.delete(request);
      const now = this.now();
      if (now - request.started >= SLOW_REQUEST_MS) this.slowUntil.set(webhookId, now + SLOW_FOR_MS);
    };
  }

  private limit(webhookId: string, lane: Lane): number {
    const most = Math.max(1, this.total - 1);
    return this.slow(webhookId, lane) ? Math.min(SENDS_PER_SLOW_WEBHOOK, most) : most;
  }

  private slow(webhookId: string, lane: Lane | undefined): boolean {
    const now = this.now();
    const until = this.slowUntil.get(webhookId);
    if (until !== undefined) {
      if (until > now) return true;
      this.slowUntil.delete(webhookId);
    }
    for (const { started } of lane?.sending ?? []) if (now - started >= SLOW_REQUEST_MS) return true;
    return false;
  }

  /** Every waiting `run` gives up now (answers LANE_WAIT_EXPIRED), e.g. when the process shuts down. */
  releaseWaiters(): void {
    for (const [webhookId, lane] of this.lanes) {
      for (const waiter of lane.waiting.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.resolve(false);
      }
      this.dropIfIdle(webhookId, lane);
    }
  }

  private wait(lane: Lane, maxWaitMs: number | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { resolve };
      if (maxWaitMs !== undefined) {
        waiter.timer = setTimeout(() => {
          const at = lane.waiting.indexOf(waiter);
          if (at >= 0) lane.waiting.splice(at, 1);
          resolve(false);
        }, maxWaitMs);
      }
      lane.waiting.push(waiter);
    });
  }

  /** Hands freed room to the waiting, in arrival order. */
  private wake(webhookId: string, lane: Lane): void {
    while (lane.waiting.length > 0 && lane.active < this.limit(webhookId, lane)) {
      const waiter = lane.waiting.shift()!;
      clearTimeout(waiter.timer);
      lane.active += 1;
      waiter.resolve(true);
    }
  }

  private dropIfIdle(webhookId: string, lane: Lane): void {
    if (lane.active === 0 && lane.waiting.length === 0 && this.lanes.get(webhookId) === lane) {
      this.lanes.delete(webhookId);
    }
  }
}
