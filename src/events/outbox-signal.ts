import { Injectable } from '@nestjs/common';

/** A delivery row already marked queued by its writer, whose Bull job the relay is to add. */
export interface ClaimedDelivery {
  id: string;
  /**
   * The row's `queued_at` as Postgres wrote it (text): the claim. A job carries it, and an attempt whose row was
   * claimed again since (handed back and queued anew) leaves the delivery to the newer job.
   */
  queuedAt: string;
}

type Listener = (claimed: ClaimedDelivery[]) => void;

/**
 * In-process doorbell: producers ring it after committing an event so the relay need not wait for its next poll.
 * A ring may hand over deliveries its writer claimed in the same statement (the predictions group commit): the
 * relay adds their jobs without claiming them again. Were no relay listening, such rows would look queued with no
 * sign of life, and the relay's stale sweep would hand them back to the queue.
 */
@Injectable()
export class OutboxSignal {
  private readonly listeners = new Set<Listener>();

  /**
   * Whether writers should claim the deliveries they make (see `ring`): set by the relay each time it looks at the
   * queue, false while Redis is not ready or the queue is near WEBHOOKS_QUEUE_HIGH_WATER — claimed rows would
   * then only be handed back. False until a relay has looked.
   */
  queueHasRoom = false;

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  ring(claimed: ClaimedDelivery[] = []): void {
    for (const listener of this.listeners) listener(claimed);
  }
}
