import type { LiveConnection } from './subscription.js';

/**
 * Live frames not yet sent, per connection, as (subscription prefix, event JSON) pairs: both strings
 * already exist, so queueing costs no copies. Flushed in a microtask, so every event of one write
 * batch reaches a connection in one corked write (one syscall) instead of one write per event. The
 * microtask runs before any further I/O callback, so no REQ or CLOSE falls in between, and each
 * connection still gets its frames in the order they were queued.
 */
export class Outbox {
  private readonly pending = new Map<LiveConnection, string[]>();
  private scheduled = false;

  queue(client: LiveConnection, framePrefix: string, json: string): void {
    const parts = this.pending.get(client);
    if (parts) parts.push(framePrefix, json);
    else this.pending.set(client, [framePrefix, json]);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const pending = [...this.pending];
    this.pending.clear();
    for (const [client, parts] of pending) {
      if (parts.length === 2) client.send(`${parts[0]}${parts[1]}]`);
      else
        client.batch(() => {
          for (let i = 0; i < parts.length; i += 2) client.send(`${parts[i]}${parts[i + 1]}]`);
        });
    }
  }
}
