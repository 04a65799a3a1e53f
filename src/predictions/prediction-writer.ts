import type { Prediction } from './prediction.entity';

/** One row of a batch, with what must commit with it (`extra`: its webhooks outbox row). */
export interface BatchItem<E> {
  prediction: Prediction;
  extra?: E;
}

/**
 * Writes a batch atomically: the rows and each one's `extra` (PredictionsRepository.insertBatch). May return one
 * result per item, in order, which that item's `insert` resolves with.
 */
export type CommitBatch<E, R> = (items: Array<BatchItem<E>>) => Promise<R[] | void>;

interface PendingInsert<E, R> extends BatchItem<E> {
  /** Rough size of the row's JSON, to keep one batch's statement to a few megabytes. */
  bytes: number;
  resolve: (result: R | undefined) => void;
  reject: (err: unknown) => void;
}

/** A batch stops growing at this many rows or this much input/output JSON, whichever comes first. */
export const GROUP_COMMIT_MAX_ROWS = 500;
export const GROUP_COMMIT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Group commit for new prediction rows. Concurrent inserts share one atomic write: the rows and each row's
 * `extra` (its webhook outbox row) in one statement. The batch is flushed on the next event-loop turn when
 * no batch is in flight; while one is, new rows wait and form the next batch, so the batch size follows the load
 * (1 row when idle, many under load) without a timer. Each caller's promise settles only once its own row is
 * committed. If a batch fails, its rows are retried one transaction each, so that one bad row (say, its model
 * was deleted meanwhile) fails only its own request.
 */
export class PredictionWriter<E = never, R = void> {
  private queue: Array<PendingInsert<E, R>> = [];
  private inFlight = false;
  private scheduled = false;

  constructor(private readonly commit: CommitBatch<E, R>) {}

  /** Resolves once the row (and its `extra`) is durable, with the commit's result for it. */
  insert(prediction: Prediction, extra?: E): Promise<R | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        prediction,
        extra,
        bytes: approximateBytes(prediction.inputData) + approximateBytes(prediction.outputData),
        resolve,
        reject,
      });
      this.schedule();
    });
  }

  /** Rows waiting for the next batch (for tests and metrics). */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private takeBatch(): Array<PendingInsert<E, R>> {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && count < GROUP_COMMIT_MAX_ROWS) {
      bytes += this.queue[count].bytes;
      if (count > 0 && bytes > GROUP_COMMIT_MAX_BYTES) break;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch = this.takeBatch();
    try {
      const results = await this.commit(batch);
      batch.forEach((item, i) => item.resolve(results?.[i]));
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
      } else {
        for (const item of batch) {
          try {
            const results = await this.commit([item]);
            item.resolve(results?.[0]);
          } catch (itemErr) {
            item.reject(itemErr);
          }
        }
      }
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  }
}

/** Input and output are what make a row big: elements (probed along the first items) × ~12 characters. */
function approximateBytes(value: unknown): number {
  if (Array.isArray(value)) {
    let elements = 1;
    for (let node: unknown = value; Array.isArray(node); node = node[0]) elements *= Math.max(1, node.length);
    return elements * 12;
  }
  if (value !== null && typeof value === 'object') {
    let bytes = 0;
    for (const item of Object.values(value)) bytes += approximateBytes(item);
    return bytes;
  }
  return 16;
}
