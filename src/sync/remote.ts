import WebSocket from 'ws';

export type Frame = [string, ...unknown[]];

/**
 * A minimal NIP-01 client for the sync CLI: one socket, frames routed to whoever waits for them by
 * subscription id (REQ, NEG-*) or event id (OK). NOTICEs go to `onNotice`.
 */
export class Remote {
  private readonly bySub = new Map<string, (frame: Frame) => void>();
  private readonly byOk = new Map<string, (frame: Frame) => void>();
  onNotice: (message: string) => void = () => {};
  private closedError: Error | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      if (!Array.isArray(frame)) return;
      if (frame[0] === 'NOTICE') return this.onNotice(String(frame[1]));
      if (frame[0] === 'OK') return this.byOk.get(String(frame[1]))?.(frame);
      if (typeof frame[1] === 'string') this.bySub.get(frame[1])?.(frame);
    });
    socket.on('close', () => {
      this.closedError = new Error('connection to the remote relay closed');
      const closed: Frame = ['CLOSED-SOCKET'];
      for (const handler of [...this.bySub.values(), ...this.byOk.values()]) handler(closed);
    });
  }

  static connect(url: string, timeoutMs = 10_000): Promise<Remote> {
    const socket = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`could not connect to ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('open', () => {
        clearTimeout(timer);
        resolve(new Remote(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  send(message: unknown[] | string): void {
    if (this.closedError) throw this.closedError;
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Routes frames carrying `subId` to `handler` until `off()`. */
  listen(subId: string, handler: (frame: Frame) => void): () => void {
    this.bySub.set(subId, handler);
    return () => this.bySub.delete(subId);
  }

  /** Resolves with the OK frame for `id` (or a synthetic failure when the socket closes / times out). */
  awaitOk(id: string, timeoutMs: number): Promise<Frame> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(['OK', id, false, 'error: no OK from the remote relay in time']), timeoutMs);
      const finish = (frame: Frame): void => {
        clearTimeout(timer);
        this.byOk.delete(id);
        resolve(frame[0] === 'OK' ? frame : ['OK', id, false, 'error: connection closed']);
      };
      this.byOk.set(id, finish);
    });
  }

  /** REQ with one filter; resolves with the events before EOSE (CLOSED or a closed socket end it too). */
  async fetch(subId: string, filter: object, timeoutMs: number): Promise<{ events: unknown[]; closed?: string }> {
    const events: unknown[] = [];
    const result = await new Promise<{ events: unknown[]; closed?: string }>((resolve) => {
      const timer = setTimeout(() => done({ events, closed: 'timeout' }), timeoutMs);
      const done = (value: { events: unknown[]; closed?: string }): void => {
        clearTimeout(timer);
        off();
        resolve(value);
      };
      const off = this.listen(subId, (frame) => {
        if (frame[0] === 'EVENT') events.push(frame[2]);
        else if (frame[0] === 'EOSE') done({ events });
        else if (frame[0] === 'CLOSED' || frame[0] === 'CLOSED-SOCKET') done({ events, closed: String(frame[2] ?? 'connection closed') });
      });
      this.send(['REQ', subId, filter]);
    });
    if (result.closed !== 'connection closed' && !this.closedError) this.send(['CLOSE', subId]);
    return result;
  }

  close(): void {
    this.socket.close();
  }
}
