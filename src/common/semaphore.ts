/**
 * At most `limit` holders at a time; the others wait their turn in arrival order. `run` releases its slot however
 * the task ends.
 */
export class Semaphore {
  private held = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** Every slot is held: a new `run` would wait. */
  get full(): boolean {
    return this.held >= this.limit;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** No task holds a slot or waits for one. */
  get idle(): boolean {
    return this.held === 0 && this.waiting.length === 0;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.held >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.held += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      if (next) next();
      else this.held -= 1;
    }
  }
}
