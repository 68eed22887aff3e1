import WebSocket from 'ws';
import type { NostrEvent } from '../../src/event/types.js';
import { WAIT_LIMIT_MS } from './wait.js';

export type Frame = [string, ...unknown[]];

interface Waiter {
  predicate: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

/**
 * A raw NIP-01 client over `ws` that records every frame, for tests that need to see exactly what
 * the relay sends (nostr-tools' Relay hides some of it).
 */
export class RawClient {
  readonly frames: Frame[] = [];
  private waiters: Waiter[] = [];
  closeCode: number | undefined;
  private closedPromise: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) {
        if (waiter.predicate(frame)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', (code) => {
        this.closeCode = code;
        for (const waiter of this.waiters.splice(0)) waiter.reject(this.closedError());
        resolve(code);
      }),
    );
  }

  /**
   * `headers`: extra upgrade request headers, e.g. `{ host: 'a.example' }` for virtual hosts; `ca`: the
   * certificate a wss:// server's must chain to (a test's own self-signed one).
   */
  static async connect(url: string, headers?: Record<string, string>, ca?: string): Promise<RawClient> {
    const socket = new WebSocket(url, headers === undefined && ca === undefined ? undefined : { headers, ca });
    // Listen before the handshake completes: a frame the relay sends on open (NIP-42 AUTH) may be
    // delivered before a promise continuation after 'open' could attach a listener.
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /**
   * Sends the messages in ONE write (the socket corked): they reach the relay in one read, so it handles
   * them one after another before anything else (a reader thread's answer included) can run.
   */
  sendTogether(...messages: unknown[]): void {
    const socket = (this.socket as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    socket.cork();
    for (const message of messages) this.send(message);
    socket.uncork();
  }

  /**
   * The first frame (already received or coming) that satisfies the predicate. Frames that do not
   * match (an AUTH challenge, a NOTICE, answers to other messages) are skipped, and the wait lasts
   * until the frame comes or the connection closes; `timeoutMs` only turns a hang into an error that
   * lists the frames received.
   */
  next(predicate: (frame: Frame) => boolean, timeoutMs = WAIT_LIMIT_MS): Promise<Frame> {
    const seen = this.frames.find(predicate);
    if (seen) return Promise.resolve(seen);
    if (this.closeCode !== undefined) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private closedError(): Error {
    return new Error(`connection closed (${this.closeCode}) before a matching frame; got ${JSON.stringify(this.frames)}`);
  }

  /** Sends an EVENT and waits for the OK answering this send (not an earlier OK for the same id). */
  async publish(event: { id: string }): Promise<Frame> {
    const start = this.frames.length;
    this.send(['EVENT', event]);
    return this.next((f) => f[0] === 'OK' && f[1] === event.id && this.frames.indexOf(f) >= start);
  }

  /** Sends a REQ and resolves with the events received before EOSE (or the CLOSED frame). */
  async req(subId: string, ...filters: unknown[]): Promise<{ events: NostrEvent[]; closed?: Frame }> {
    const start = this.frames.length;
    this.send(['REQ', subId, ...filters]);
    const end = await this.next((f, i = this.frames.indexOf(f)) => i >= start && (f[0] === 'EOSE' || f[0] === 'CLOSED') && f[1] === subId);
    const endIndex = this.frames.indexOf(end, start);
    const events = this.frames
      .slice(start, endIndex)
      .filter((f) => f[0] === 'EVENT' && f[1] === subId)
      .map((f) => f[2] as NostrEvent);
    return end[0] === 'CLOSED' ? { events, closed: end } : { events };
  }

  /** Frames of a kind received after index `from`. */
  since(from: number): Frame[] {
    return this.frames.slice(from);
  }

  closed(): Promise<number> {
    return this.closedPromise;
  }

  close(): Promise<number> {
    this.socket.close();
    return this.closedPromise;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
