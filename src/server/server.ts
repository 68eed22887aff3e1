import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { noticeFrame } from '../protocol/frames.js';
import { reason } from '../protocol/prefixes.js';
import type { Client, ClientSubscription } from '../relay/client.js';
import type { Relay } from '../relay/relay.js';
import { AddressSet } from '../net/ip.js';
import { resolveClientIp } from './client-ip.js';
import { answerGet, answerOptions, answerPost, notFound, plainText, type HttpPages, type PostHandler } from './http.js';
import type { ServerChoice } from './choose.js';
import type { RequestHead, WireSocket } from './transport.js';

interface SocketState {
  ip: string;
  /** The upgrade request's Host header, for NIP-42 when relay.url is empty. */
  host: string;
  /** The virtual relay chosen by that Host header. */
  site: ServerSite;
  client?: SocketClient;
}

/** A connection as the relay sees it, over one socket of the transport. */
class SocketClient implements Client {
  readonly subscriptions = new Map<string, ClientSubscription>();
  readonly authenticated = new Set<string>();
  challenge = '';
  closed = false;

  constructor(
    private readonly socket: WireSocket,
    readonly id: number,
    readonly ip: string,
    readonly host: string,
    readonly log: Logger,
    private readonly maxOutboundBytes: number,
    readonly site: ServerSite,
  ) {}

  send(frame: string | Uint8Array): void {
    if (!this.closed && !this.socket.send(frame)) this.cutOff();
  }

  batch(sends: () => void): void {
    if (!this.closed && !this.socket.cork(sends) && !this.closed) this.cutOff();
  }

  /** The transport found the socket over its outbound limit: a reader too slow for what it asked. */
  cutOff(): void {
    if (this.closed) return;
    this.log.warn(
      { buffered: this.socket.bufferedAmount(), limit: this.maxOutboundBytes },
      'closing a connection that does not read fast enough',
    );
    this.site.relay.metrics.slowConsumerClosed();
    this.end(1008, 'outbound buffer limit exceeded');
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

/**
 * Listens with the chosen WebSocket server. `config`: the process-wide keys (relay.host, relay.port);
 * each site's own limits apply to its connections.
 */
export async function startServer(sites: Sites, config: Config, log: Logger, server: ServerChoice): Promise<RunningServer> {
  const sockets = new Set<SocketClient>();
  const trustedProxies = new AddressSet(config.relay.trusted_proxies);
  let nextId = 1;
  // The client's address for every request (WebSocket upgrade and NIP-86 POST alike).
  const clientIp = (head: RequestHead): string => resolveClientIp(head.remoteAddress, head.header('x-forwarded-for'), trustedProxies);
  const largest = (key: 'max_message_bytes' | 'max_outbound_bytes'): number => Math.max(...sites.all.map((site) => site.limits[key]));

  const listening = await server.transport.listen<SocketState>(
    {
      host: config.relay.host,
      port: config.relay.port,
      // Frames up to twice the limit are read and answered with a NOTICE before closing; larger ones are dropped unread.
      maxPayloadBytes: largest('max_message_bytes') * 2,
      maxBackpressureBytes: largest('max_outbound_bytes'),
      idleTimeoutSeconds: 120,
    },
    {
      upgrade: (head) => {
        const ip = clientIp(head);
        const host = head.header('host');
        const site = sites.pick(host);
        if (site.management?.isIpBlocked(ip)) {
          log.info({ ip }, 'refused a connection from a blocked IP');
          return { refuse: plainText(403, 'blocked: your IP address is blocked on this relay\n') };
        }
        const limited = site.relay.rateLimits.admitConnection(ip);
        if (limited) {
          log[config.logging.rejections]({ ip, reason: limited.text }, 'refused a connection: rate-limited');
          return { refuse: plainText(429, `${reason(limited.prefix, limited.text)}\n`) };
        }
        return { accept: { ip, host, site } };
      },
      open: (socket, state) => {
        const id = nextId++;
        const { site } = state;
        const client = new SocketClient(
          socket,
          id,
          state.ip,
          state.host,
          log.child({ conn: id, ip: state.ip }),
          site.limits.max_outbound_bytes,
          site,
        );
        state.client = client;
        sockets.add(client);
        site.relay.connect(client);
      },
      message: (state, text, bytes) => {
        const client = state.client!;
        const limits = client.site.limits;
        if (bytes > limits.max_message_bytes) {
          client.send(noticeFrame(reason('invalid', `message is ${bytes} bytes; the limit is ${limits.max_message_bytes}`)));
          client.log.info({ bytes, limit: limits.max_message_bytes }, 'closing connection: message too big');
          return client.end(1009, 'message too big');
        }
        if (text === undefined) return client.send(noticeFrame(reason('invalid', 'binary frames are not supported; send JSON text')));
        client.site.relay.handle(client, text);
      },
      overLimit: (state) => state.client?.cutOff(),
      close: (state) => {
        const client = state.client!;
        client.closed = true;
        sockets.delete(client);
        client.site.relay.disconnect(client);
      },
      request: (head) => {
        const site = sites.pick(head.header('host'));
        switch (head.method) {
          case 'GET':
            return answerGet(head, site.pages);
          case 'OPTIONS':
            return answerOptions();
          case 'POST':
            if (site.management === undefined) return notFound();
            return answerPost(head, site.management.handlePost, site.limits.max_message_bytes, clientIp(head));
          default:
            return notFound();
        }
      },
    },
  );
  return {
    port: listening.port,
    stopListening: () => listening.stopListening(),
    closeConnections: (code, message) => {
      for (const client of [...sockets]) client.end(code, message);
    },
    closeBlocked: () => {
      for (const client of [...sockets]) {
        if (client.site.management?.isIpBlocked(client.ip)) client.end(1008, 'blocked: your IP address is blocked on this relay');
      }
    },
  };
}
