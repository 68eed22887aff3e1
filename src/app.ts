import type { Config } from './config/types.js';
import type { Verifier } from './event/verify.js';
import { createVerifier } from './event/verify-pool.js';
import { createLogger, type Logger } from './log.js';
import { relayInformation } from './nips/nip11.js';
import { Management } from './relay/management.js';
import { Relay } from './relay/relay.js';
import { renderPage } from './server/page.js';
import { startServer } from './server/server.js';
import { EventStore } from './store/store.js';

export interface RelayOptions {
  logger?: Logger;
  verifier?: Verifier;
  /** Clock in unix seconds, for tests that move time. */
  now?: () => number;
}

export interface RunningRelay {
  readonly relay: Relay;
  readonly port: number;
  /** The URL clients connect to on this machine (ws://host:port). */
  readonly localUrl: string;
  /** Graceful stop: stop listening, answer events under way, close sockets with 1001, close the database. */
  stop(): Promise<void>;
}

/** Composition root: opens the store, builds the relay and starts the server. */
export async function startRelay(config: Config, options: RelayOptions = {}): Promise<RunningRelay> {
  const log = options.logger ?? createLogger(config.logging);
  const store = EventStore.open(config.storage.path, { synchronous: config.storage.synchronous });
  // A verifier passed in belongs to the caller; the one built from verify.workers is closed on stop.
  const verifier = options.verifier ?? createVerifier(config.verify.workers);
  const ownVerifier = options.verifier ? undefined : verifier;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  // NIP-86: lists and NIP-11 overrides persisted in the store; applied to policies and pages at once.
  const management = new Management(config, store.management, verifier, now);
  const relay = new Relay(config, store, verifier, log, now, management);
  // NIP-11 is rebuilt only when an admin changes the name, description or icon.
  const informationOf = (): string => JSON.stringify(relayInformation(management.effectiveConfig()));
  let information = informationOf();
  management.onInfoChanged = () => {
    information = informationOf();
  };
  const storedEvents = cachedFor(5000, () => store.stats().events);

  let localUrl = '';
  let server;
  try {
    server = await startServer(relay, config, log, {
      information: () => information,
      page: (host) => renderPage(management.effectiveConfig(), config.relay.url || `ws://${host || localUrl}`, relay.counters, storedEvents()),
    }, {
      handlePost: (request) => management.handleHttp(request),
      isIpBlocked: (ip) => management.isIpBlocked(ip),
    });
  } catch (error) {
    store.close();
    await ownVerifier?.close?.();
    throw error;
  }
  const running = server;
  management.onIpBlocked = () => running.closeBlocked();
  const host = config.relay.host.includes(':') ? `[${config.relay.host}]` : config.relay.host;
  localUrl = `ws://${host}:${server.port}`;
  log.info({ url: localUrl, db: config.storage.path }, 'relay listening');

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    server.stopListening();
    await relay.drain();
    server.closeConnections(1001, 'relay shutting down');
    relay.close();
    await ownVerifier?.close?.();
    log.info('relay stopped');
  };
  return {
    relay,
    port: server.port,
    localUrl,
    stop: () => (stopping ??= stop()),
  };
}

/** Memoises `compute` for `ms` milliseconds (the page's counters must not cost a scan per request). */
function cachedFor<T>(ms: number, compute: () => T): () => T {
  let value: T;
  let computedAt = -Infinity;
  return () => {
    if (Date.now() - computedAt > ms) {
      value = compute();
      computedAt = Date.now();
    }
    return value;
  };
}
