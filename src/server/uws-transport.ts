/** The native WebSocket server: uWebSockets.js, loaded by choose.ts from the build that fits this Node. */
import { isMainThread } from 'node:worker_threads';
import type * as Uws from 'uws-official';
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

export type UwsModule = typeof Uws;

/** Headers are read while uWS's request object is valid: during the handler that received it. */
function headOf(method: string, res: Uws.HttpResponse, req: Uws.HttpRequest): RequestHead {
  return {
    method,
    url: req.getUrl(),
    get remoteAddress() {
      return Buffer.from(res.getRemoteAddressAsText()).toString();
    },
    header: (name) => req.getHeader(name),
  };
}

function write(res: Uws.HttpResponse, answer: HttpAnswer): void {
  res.cork(() => {
    res.writeStatus(statusLine(answer.status));
    for (const [name, value] of answer.headers) res.writeHeader(name, value);
    res.end(answer.body);
  });
}

export function uwsTransport(uws: UwsModule): Transport {
  return {
    listen<T>(options: ListenOptions, handlers: ListenerHandlers<T>): Promise<Listening> {
      const app = uws.App();
      // A worker thread that exits with uWS sockets open (an uncaught exception, process.exit) makes Node
      // abort the whole process (uv_loop_close with open handles): close them all as it exits. (Nothing
      // runs on worker.terminate(): terminating a thread with sockets open still aborts the process.)
      if (!isMainThread) process.once('exit', () => app.close());
      app.ws<{ state: T }>('/', {
        maxPayloadLength: options.maxPayloadBytes,
        maxBackpressure: options.maxBackpressureBytes,
        closeOnBackpressureLimit: false,
        idleTimeout: options.idleTimeoutSeconds,
        sendPingsAutomatically: true,
        upgrade: (res, req, context) => {
          const verdict = handlers.upgrade(headOf('GET', res, req));
          if ('refuse' in verdict) return write(res, verdict.refuse);
          res.upgrade(
            { state: verdict.accept },
            req.getHeader('sec-websocket-key'),
            req.getHeader('sec-websocket-protocol'),
            req.getHeader('sec-websocket-extensions'),
            context,
          );
        },
        open: (socket) => {
          const withinLimit = (): boolean => socket.getBufferedAmount() <= options.maxBackpressureBytes;
          const wire: WireSocket = {
            // 1: written, nothing to check (saves a native call per frame on REQ answers); 2: dropped over maxBackpressure.
            send: (text) => {
              const status = socket.send(text, false);
              return status === 1 || (status === 0 && withinLimit());
            },
            cork: (sends) => {
              socket.cork(sends);
              return withinLimit();
            },
            bufferedAmount: () => socket.getBufferedAmount(),
            end: (code, reason) => socket.end(code, reason),
          };
          handlers.open(wire, socket.getUserData().state);
        },
        // The ArrayBuffer is only valid during this call: it is decoded before returning.
        message: (socket, message, isBinary) =>
          handlers.message(socket.getUserData().state, isBinary ? undefined : Buffer.from(message).toString('utf8'), message.byteLength),
        close: (socket) => handlers.close(socket.getUserData().state),
      });
      app.any('/*', (res, req) => {
        const route = handlers.request(headOf(req.getMethod().toUpperCase(), res, req));
        if (!readsBody(route)) return write(res, route);
        let aborted = false;
        let done = false;
        res.onAborted(() => {
          aborted = true;
        });
        const answer = (reply: HttpAnswer): void => {
          if (aborted || done) return;
          done = true;
          write(res, reply);
        };
        const chunks: Buffer[] = [];
        let size = 0;
        res.onData((chunk, isLast) => {
          if (done) return;
          size += chunk.byteLength;
          if (size > route.maxBytes) return answer(route.tooLarge);
          chunks.push(Buffer.from(new Uint8Array(chunk).slice())); // uWS reuses the chunk's memory after this callback
          if (isLast) void route.answer(Buffer.concat(chunks)).then(answer);
        });
      });
      return new Promise((resolve, reject) => {
        app.listen(options.host, options.port, (listenSocket) => {
          if (!listenSocket) return reject(new Error(`could not listen on ${options.host}:${options.port}`));
          resolve({
            port: uws.us_socket_local_port(listenSocket as unknown as Uws.us_socket),
            stopListening: () => uws.us_listen_socket_close(listenSocket),
          });
        });
      });
    },
  };
}
