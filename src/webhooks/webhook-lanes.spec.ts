import {
  LANE_WAIT_EXPIRED,
  SENDS_PER_SLOW_WEBHOOK,
  SLOW_FOR_MS,
  SLOW_REQUEST_MS,
  WebhookLanes,
} from './webhook-lanes';

/** A task that stays running until its gate is opened. */
function gated() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return { open, task: () => gate };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WebhookLanes', () => {
  it('lets a fast webhook use every slot but one, so another webhook always has one', async () => {
    const lanes = new WebhookLanes(4);
    const held = [gated(), gated(), gated()];
    const running = held.map((g) => lanes.run('busy', g.task));
    await tick();
    expect(lanes.full('busy')).toBe(true);
    expect(lanes.full('other')).toBe(false);
    let fourthRan = false;
    const fourth = lanes.run('busy', () => {
      fourthRan = true;
      return Promise.resolve();
    });
    await tick();
    expect({ fourthRan, queued: lanes.queued('busy') }).toEqual({ fourthRan: false, queued: 1 });
    held[0].open();
    await Promise.all([running[0], fourth]);
    expect(fourthRan).toBe(true);
    held[1].open();
    held[2].open();
    await Promise.all(running);
    expect(lanes.full('busy')).toBe(false);
  });

  it('holds a webhook to two requests once one of them has been on the wire for a second, and for a minute after', async () => {
    let now = 0;
    const lanes = new WebhookLanes(10, () => now);
    const first = gated();
    const running = lanes.run('slow', async () => {
      const finished = lanes.sending('slow');
      await first.task();
      finished();
    });
    const second = gated();
    const alsoRunning = lanes.run('slow', second.task);
    await tick();
    expect(lanes.full('slow')).toBe(false); // two of nine, and nothing slow yet
    now += SLOW_REQUEST_MS;
    expect(lanes.full('slow')).toBe(true); // a request on the wire for a second: two at most
    expect(SENDS_PER_SLOW_WEBHOOK).toBe(2);
    first.open();
    second.open();
    await Promise.all([running, alsoRunning]);
    // Still slow after its slow request finished...
    const third = gated();
    const fourth = gated();
    const more = [lanes.run('slow', third.task), lanes.run('slow', fourth.task)];
    await tick();
    expect(lanes.full('slow')).toBe(true);
    // ...until SLOW_FOR_MS have passed.
    now += SLOW_FOR_MS;
    expect(lanes.full('slow')).toBe(false);
    third.open();
    fourth.open();
    await Promise.all(more);
  });

  it('with a single slot, lets one request through at a time', async () => {
    const lanes = new WebhookLanes(1);
    const first = gated();
    const running = lanes.run('w', first.task);
    await tick();
    expect(lanes.full('w')).toBe(true);
    first.open();
    await running;
    expect(lanes.full('w')).toBe(false);
  });

  it('gives up waiting after maxWaitMs without running the task, and leaves the queue as it was', async () => {
    const lanes = new WebhookLanes(2);
    const first = gated();
    const running = lanes.run('w', first.task);
    await tick();
    let ran = false;
    const answer = await lanes.run(
      'w',
      () => {
        ran = true;
        return Promise.resolve('sent');
      },
      20,
    );
    expect({ answer, ran, queued: lanes.queued('w') }).toEqual({
      answer: LANE_WAIT_EXPIRED,
      ran: false,
      queued: 0,
    });
    first.open();
    await running;
    expect(await lanes.run('w', () => Promise.resolve('sent'), 20)).toBe('sent');
  });

  it('releases every waiter at once (shutdown), which then answers LANE_WAIT_EXPIRED', async () => {
    const lanes = new WebhookLanes(2);
    const first = gated();
    const running = lanes.run('w', first.task);
    await tick();
    const waiting = [
      lanes.run('w', () => Promise.resolve('a')),
      lanes.run('w', () => Promise.resolve('b'), 60_000),
    ];
    await tick();
    expect(lanes.queued('w')).toBe(2);
    lanes.releaseWaiters();
    expect(await Promise.all(waiting)).toEqual([LANE_WAIT_EXPIRED, LANE_WAIT_EXPIRED]);
    first.open();
    await running;
    expect(lanes.full('w')).toBe(false);
  });
});
