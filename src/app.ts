import { hostKey } from './config/hosts.js';
import type { Config } from './config/types.js';
import type { Verifier } from './event/verify.js';
import { createVerifier } from './event/verify-pool.js';
import { createLogger, type Logger } from './log.js';
import type { Relay } from './relay/relay.js';
import { startServer, type RunningServer, type Sites } from './server/server.js';
import { openSite, type Site } from './site.js';

export interface RelayOptions {
  logger?: Logger;
  verifier?: Verifier;
  /** Clock in unix seconds, for tests that move time. */
  now?: () => number;
  /** Clock in milliseconds (rate limits), for tests that move time. */
  nowMs?: () => number;
}

export interface RunningRelay {
  /** The default site's relay (the top-level config). */
  readonly relay: Relay;
  /** Every site: the default first, then one per `hosts:` block in file order (a reload applies per site). */
  readonly sites: readonly Site[];
  readonly port: number;
  /** The URL clients connect to on this machine (ws://host:port). */
  readonly localUrl: string;
  /** Graceful stop: stop listening, answer events under way, close sockets with 1001, close every database. */
  stop(): Promise<void>;
}

/** Composition root: opens a site (store, relay, management) per virtual host and the default, then the server. */
export async function startRelay(config: Config, options: RelayOptions = {}): Promise<RunningRelay> {
  const log = options.logger ?? createLogger(config.logging);
  // One verifier pool for every site. A verifier passed in belongs to the caller; the one built from
  // verify.workers is closed on stop.
  const verifier = options.verifier ?? createVerifier(config.verify.workers);
  const ownVerifier = options.verifier ? undefined : verifier;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  let localUrl = '';
  const deps = { verifier, log, now, nowMs: options.nowMs, localUrl: () => localUrl };

  const sites: Site[] = [];
  let server: RunningServer;
  try {
    sites.push(openSite(config, [], deps));
    for (const host of config.hosts) sites.push(openSite(host.config, host.names, deps));
    server = await startServer(directory(sites), config, log);
  } catch (error) {
    for (const site of sites) site.relay.close();
    await ownVerifier?.close?.();
    throw error;
  }
  const running = server;
  for (const site of sites) site.management.onIpBlocked = () => running.closeBlocked();
  const host = config.relay.host.includes(':') ? `[${config.relay.host}]` : config.relay.host;
  localUrl = `ws://${host}:${server.port}`;
  for (const site of sites) {
    log.info({ url: localUrl, db: site.config.storage.path, ...(site.names.length > 0 && { hosts: site.names }) }, site.names.length > 0 ? 'virtual relay listening' : 'relay listening');
  }

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    server.stopListening();
    await Promise.all(sites.map((site) => site.relay.drain()));
    server.closeConnections(1001, 'relay shutting down');
    for (const site of sites) site.relay.close();
    await ownVerifier?.close?.();
    log.info('relay stopped');
  };
  return {
    relay: sites[0]!.relay,
    sites,
    port: server.port,
    localUrl,
    stop: () => (stopping ??= stop()),
  };
}

/** The listener's choice of site: by Host header (case and port ignored), else the default (sites[0]). */
function directory(sites: readonly Site[]): Sites {
  const byName = new Map(sites.flatMap((site) => site.names.map((name) => [name, site.served] as const)));
  const fallback = sites[0]!.served;
  return { all: sites.map((site) => site.served), pick: (header) => byName.get(hostKey(header)) ?? fallback };
}
