import { Injectable } from '@nestjs/common';

/** In-process doorbell: producers ring it after committing an event so the relay need not wait for its next poll. */
@Injectable()
export class OutboxSignal {
  private readonly listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  ring(): void {
    for (const listener of this.listeners) listener();
  }
}
