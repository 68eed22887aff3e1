/**
 * The portable WebSocket server: `ws` (with bufferutil) on node:http. It runs wherever Node runs, for the
 * (Node, libc) pairs no uWebSockets.js build loads on (choose.ts says when and why).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { statusLine } from './http.js';
import {
  readsBody,
  type HttpAnswer,
  type ListenerHandlers,
  type Listening,
  type ListenOptions,
  type RequestHead,
  type Transport,
  type WireSocket,
} from './transport.js';

function headOf(req: IncomingMessage): RequestHead {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return {
    method: req.method ?? 'GET',
    url: query === -1 ? url : url.slice(0, query),
    remoteAddress: req.socket.remoteAddress ?? '',
    header: (name) => {
      const value = req.headers[name];
      return value === undefined ? '' : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/** An answer written straight on the socket of an upgrade request that is refused. */
function refuse(socket: Socket, answer: HttpAnswer): void {
  const headers = answer.headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${statusLine(answer.status)}\r\n${headers}Content-Length: ${Buffer.byteLength(answer.body)}\r\nConnection: close\r\n\r\n${answer.body}`,
  );
}

function write(res: ServerResponse, answer: HttpAnswer): void {
  res.writeHead(answer.status, Object.fromEntries(answer.headers));
  res.end(answer.body);
}

function serveHttp<T>(req: IncomingMessage, res: ServerResponse, handlers: ListenerHandlers<T>): void {
  const route = handlers.request(headOf(req));
  if (!readsBody(route)) {
    req.resume();
    return write(res, route);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const answer = (reply: HttpAnswer): void => {
    if (done || res.destroyed) return;
    done = true;
    write(res, reply);
  };
  req.on('data', (chunk: Buffer) => {
    if (done) return;
    size += chunk.byteLength;
    if (size <= route.maxBytes) return void chunks.push(chunk);
    answer(route.tooLarge);
    req.socket.end();
  });
  req.on('end', () => {
    if (!done) void route.answer(Buffer.concat(chunks)).then(answer);
  });
}

/** How long a closed connection waits for the peer's close frame before the socket is cut. */
const CLOSE_HANDSHAKE_MS = 5000;
/** How long a socket's backlog may stay over the outbound limit, and how far over it may go meanwhile. */
const BACKLOG_GRACE_MS = 1000;
const BACKLOG_HARD_FACTOR = 4;

const asBuffer = (data: RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

export const wsTransport: Transport = {
  listen<T>(options: ListenOptions, handlers: ListenerHandlers<T>): Promise<Listening> {
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    const alive = new Map<WebSocket, boolean>();
    const server = createServer((req, res) => serveHttp(req, res, handlers));

    const connected = (ws: WebSocket, socket: Socket, state: T): void => {
      let closed = false;
      let corked = false;
      let grace: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (closed) return;
        closed = true;
        clearTimeout(grace);
        alive.delete(ws);
        handlers.close(state);
      };
      // Node writes to the network between turns of the event loop, so frames sent in one turn wait in
      // memory even for a reader that keeps up. A socket is over its limit when its backlog is still over
      // it a grace period later, or at once when the backlog is a few times over.
      const withinLimit = (): boolean => {
        const backlog = ws.bufferedAmount;
        if (backlog <= options.maxBackpressureBytes) return true;
        if (backlog > options.maxBackpressureBytes * BACKLOG_HARD_FACTOR) return false;
        grace ??= setTimeout(() => {
          grace = undefined;
          if (!closed && ws.bufferedAmount > options.maxBackpressureBytes) handlers.overLimit(state);
        }, BACKLOG_GRACE_MS).unref();
        return true;
      };
      const wire: WireSocket = {
        send: (frame) => {
          if (closed) return true;
          ws.send(frame, { binary: false });
          return corked || withinLimit();
        },
        cork: (sends) => {
          socket.cork();
          corked = true;
          try {
            sends();
          } finally {
            corked = false;
            socket.uncork();
          }
          return withinLimit();
        },
        bufferedAmount: () => ws.bufferedAmount,
        end: (code, reason) => {
          finish();
          // A peer that does not read gets no close handshake: its queued frames would hold the socket open.
          if (ws.bufferedAmount > options.maxBackpressureBytes) return ws.terminate();
          ws.close(code, reason);
          setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_MS).unref();
        },
      };
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      ws.on('message', (data, isBinary) => {
        if (closed) return;
        alive.set(ws, true);
        const bytes = asBuffer(data);
        handlers.message(state, isBinary ? undefined : bytes.toString('utf8'), bytes.byteLength);
      });
      // Protocol errors (a frame over maxPayload, bad UTF-8) close the socket; 'close' follows.
      ws.on('error', () => {});
      ws.on('close', finish);
      handlers.open(wire, state);
    };

    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      const request = headOf(req);
      if (request.url !== '/') {
        const route = handlers.request(request);
        return refuse(socket, readsBody(route) ? route.tooLarge : route);
      }
      const verdict = handlers.upgrade(request);
      if ('refuse' in verdict) return refuse(socket, verdict.refuse);
      wss.handleUpgrade(req, socket, head, (ws) => connected(ws, socket, verdict.accept));
    });

    // Like uWS's idle timeout with automatic pings: a socket silent for a whole round is closed.
    const pings = setInterval(
      () => {
        for (const [ws, answered] of alive) {
          if (!answered) {
            ws.terminate();
            continue;
          }
          alive.set(ws, false);
          ws.ping();
        }
      },
      (options.idleTimeoutSeconds * 1000) / 2,
    ).unref();

    return new Promise((resolve, reject) => {
      server.once('error', (error) => reject(new Error(`could not listen on ${options.host}:${options.port}: ${error.message}`)));
      server.listen(options.port, options.host, () => {
        resolve({
          port: (server.address() as AddressInfo).port,
          stopListening: () => {
            clearInterval(pings);
            server.close();
          },
        });
      });
    });
  },
};
