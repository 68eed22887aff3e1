/**
 * The seam between the relay's listener (server.ts) and a WebSocket server implementation: native
 * uWebSockets.js (uws-transport.ts) or the portable `ws` on node:http (ws-transport.ts). Each one
 * turns its own requests and sockets into these shapes; nothing above this seam knows which runs.
 */

/** The parts of an HTTP request the relay reads (headers by lower-case name; '' when absent). */
export interface RequestHead {
  readonly method: string;
  readonly url: string;
  /** The TCP peer's address as text. */
  readonly remoteAddress: string;
  header(name: string): string;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

/** A request whose answer needs its body: the transport reads at most `maxBytes`, else answers `tooLarge`. */
export interface BodyReader {
  readonly maxBytes: number;
  readonly tooLarge: HttpAnswer;
  answer(body: Uint8Array): Promise<HttpAnswer>;
}

export type HttpRoute = HttpAnswer | BodyReader;

export const readsBody = (route: HttpRoute): route is BodyReader => 'answer' in route;

/** One open WebSocket, as the listener drives it. */
export interface WireSocket {
  /** Sends one text frame (a string, or its UTF-8 bytes); false when the socket is now over its outbound limit (the listener closes it). */
  send(text: string | Uint8Array): boolean;
  /** Runs `sends` so that the frames they send leave in few writes; false when that left the socket over its limit. */
  cork(sends: () => void): boolean;
  /** Outbound bytes not yet taken by the network (for the log). */
  bufferedAmount(): number;
  /** Closes with a close frame; the listener's `close` runs at once, no other handler runs for the socket after it. */
  end(code: number, reason: string): void;
}

/** What the listener does with requests, upgrades and frames; `T` is its state for one connection. */
export interface ListenerHandlers<T> {
  /** An upgrade request: the state of the new connection, or the HTTP answer that refuses it. */
  upgrade(head: RequestHead): { accept: T } | { refuse: HttpAnswer };
  open(socket: WireSocket, state: T): void;
  /** A frame: its text, or undefined for a binary frame; `bytes` its size. */
  message(state: T, text: string | undefined, bytes: number): void;
  /** The socket stayed over its outbound limit (found after a send returned true). */
  overLimit(state: T): void;
  close(state: T): void;
  request(head: RequestHead): HttpRoute;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Frames larger than this are not read: the connection is dropped. */
  readonly maxPayloadBytes: number;
  /** Outbound bytes a socket may hold unsent before it counts as over its limit (a slow reader). */
  readonly maxBackpressureBytes: number;
  /** A connection that sends nothing (not even a pong) for this long is closed; pings keep live ones open. */
  readonly idleTimeoutSeconds: number;
}

export interface Listening {
  readonly port: number;
  /** Stops accepting connections; open ones stay. */
  stopListening(): void;
}

/** One WebSocket server implementation. */
export interface Transport {
  listen<T>(options: ListenOptions, handlers: ListenerHandlers<T>): Promise<Listening>;
}
