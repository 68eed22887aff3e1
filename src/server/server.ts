import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket, type WebSocket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { noticeFrame } from '../protocol/frames.js';
import { reason } from '../protocol/prefixes.js';
import type { Client, ClientSubscription } from '../relay/client.js';
import type { Relay } from '../relay/relay.js';
import { AddressSet, resolveClientIp } from './client-ip.js';
import { handleGet, handleOptions, handlePost, notFound, type HttpPages, type PostHandler } from './http.js';

interface SocketData {
  ip: string;
  /** The upgrade request's Host header, for NIP-42 when relay.url is empty. */
  host: string;
  /** The virtual relay chosen by that Host header. */
  site: ServerSite;
  client?: SocketClient;
}

/** A connection as the relay sees it, over one uWS socket. */
class SocketClient implements Client {
  readonly subscriptions = new Map<string, ClientSubscription>();
  readonly authenticated = new Set<string>();
  challenge = '';
  closed = false;

  constructor(
    private readonly socket: WebSocket<SocketData>,
    readonly id: number,
    readonly ip: string,
    readonly host: string,
    readonly log: Logger,
    private readonly maxOutboundBytes: number,
    readonly site: ServerSite,
  ) {}

  send(frame: string): void {
    if (this.closed) return;
    const status = this.socket.send(frame, false);
    // 1 = SUCCESS: no backpressure, nothing to check (saves a native call per frame on REQ answers).
    if (status !== 1 && (status === 2 || this.socket.getBufferedAmount() > this.maxOutboundBytes)) {
      this.log.warn({ buffered: this.socket.getBufferedAmount(), limit: this.maxOutboundBytes }, 'closing a connection that does not read fast enough');
      this.closed = true;
      this.socket.end(1008, 'outbound buffer limit exceeded');
    }
  }

  batch(sends: () => void): void {
    if (!this.closed) this.socket.cork(sends);
  }

  end(code: number, message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end(code, message);
  }
}

export interface RunningServer {
  readonly port: number;
  /** Stops accepting new connections. */
  stopListening(): void;
  /** Closes every open connection with the given code (1001 on shutdown). */
  closeConnections(code: number, message: string): void;
  /** NIP-86: closes (1008) every open connection whose IP is now blocked. */
  closeBlocked(): void;
}

/** NIP-86 hooks: the POST handler and the IP block list (new connections from a blocked IP get 403). */
export interface ServerManagement {
  handlePost: PostHandler;
  isIpBlocked(ip: string): boolean;
}

/** One relay the server serves: its protocol engine, limits, HTTP pages and NIP-86 hooks. */
export interface ServerSite {
  readonly relay: Relay;
  readonly limits: Config['limits'];
  readonly pages: HttpPages;
  readonly management?: ServerManagement;
}

/** The sites of one listener (virtual relays, src/config/hosts.ts) and the choice by Host header. */
export interface Sites {
  readonly all: readonly ServerSite[];
  /** The site serving a Host header; the default site for a header no host block names. */
  pick(hostHeader: string): ServerSite;
}

/** `config`: the process-wide keys (relay.host, relay.port); each site's own limits apply to its connections. */
export function startServer(sites: Sites, config: Config, log: Logger): Promise<RunningServer> {
  const sockets = new Set<SocketClient>();
  const trustedProxies = new AddressSet(config.relay.trusted_proxies);
  let nextId = 1;
  // The client's address for every request (WebSocket upgrade and NIP-86 POST alike).
  const clientIp = (res: HttpResponse, req: HttpRequest): string =>
    resolveClientIp(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader('x-forwarded-for'), trustedProxies);
  const largest = (key: 'max_message_bytes' | 'max_outbound_bytes'): number => Math.max(...sites.all.map((site) => site.limits[key]));

  const app: TemplatedApp = uWS.App();
  app.ws<SocketData>('/', {
    // Frames up to twice the limit are read and answered with a NOTICE before closing; larger ones uWS drops outright.
    maxPayloadLength: largest('max_message_bytes') * 2,
    maxBackpressure: largest('max_outbound_bytes'),
    closeOnBackpressureLimit: 0,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const ip = clientIp(res, req);
      const host = req.getHeader('host');
      const site = sites.pick(host);
      if (site.management?.isIpBlocked(ip)) {
        log.info({ ip }, 'refused a connection from a blocked IP');
        res.writeStatus('403 Forbidden').writeHeader('Content-Type', 'text/plain').end('blocked: your IP address is blocked on this relay\n');
        return;
      }
      const limited = site.relay.rateLimits.admitConnection(ip);
      if (limited) {
        log[config.logging.rejections]({ ip, reason: limited.text }, 'refused a connection: rate-limited');
        res.writeStatus('429 Too Many Requests').writeHeader('Content-Type', 'text/plain').end(`${reason(limited.prefix, limited.text)}\n`);
        return;
      }
      res.upgrade<SocketData>(
        { ip, host, site },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (socket) => {
      const data = socket.getUserData();
      const id = nextId++;
      const { site } = data;
      const client = new SocketClient(socket, id, data.ip, data.host, log.child({ conn: id, ip: data.ip }), site.limits.max_outbound_bytes, site);
      data.client = client;
      sockets.add(client);
      site.relay.connect(client);
    },
    message: (socket, message, isBinary) => {
      const client = socket.getUserData().client!;
      const limits = client.site.limits;
      if (message.byteLength > limits.max_message_bytes) {
        client.send(noticeFrame(reason('invalid', `message is ${message.byteLength} bytes; the limit is ${limits.max_message_bytes}`)));
        client.log.info({ bytes: message.byteLength, limit: limits.max_message_bytes }, 'closing connection: message too big');
        return client.end(1009, 'message too big');
      }
      if (isBinary) return client.send(noticeFrame(reason('invalid', 'binary frames are not supported; send JSON text')));
      client.site.relay.handle(client, Buffer.from(message).toString('utf8'));
    },
    close: (socket) => {
      const client = socket.getUserData().client!;
      client.closed = true;
      sockets.delete(client);
      client.site.relay.disconnect(client);
    },
  });
  app.get('/*', (res, req) => handleGet(res, req, sites.pick(req.getHeader('host')).pages));
  app.options('/*', (res) => handleOptions(res));
  app.post('/*', (res, req) => {
    const site = sites.pick(req.getHeader('host'));
    if (site.management === undefined) return notFound(res);
    handlePost(res, req, site.management.handlePost, site.limits.max_message_bytes, clientIp(res, req));
  });
  app.any('/*', (res) => notFound(res));

  return new Promise((resolve, reject) => {
    app.listen(config.relay.host, config.relay.port, (listenSocket: us_listen_socket | false) => {
      if (!listenSocket) return reject(new Error(`could not listen on ${config.relay.host}:${config.relay.port}`));
      resolve({
        port: uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket),
        stopListening: () => uWS.us_listen_socket_close(listenSocket),
        closeConnections: (code, message) => {
          for (const client of [...sockets]) client.end(code, message);
        },
        closeBlocked: () => {
          for (const client of [...sockets]) {
            if (client.site.management?.isIpBlocked(client.ip)) client.end(1008, 'blocked: your IP address is blocked on this relay');
          }
        },
      });
    });
  });
}
