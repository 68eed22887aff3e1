/**
 * One virtual relay ("site"): its own store, NIP-86 management, protocol engine (live subscriptions,
 * pruner) and NIP-11 document and page. startRelay opens one for the top-level config and one per
 * `hosts:` block; they share the listener, the verifier pool and the log.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ReloadPlan } from './config/reload.js';
import type { Config } from './config/types.js';
import type { Verifier } from './event/verify.js';
import type { Logger } from './log.js';
import { relayInformation, type ClusterInformation } from './nips/nip11.js';
import { supportedNips } from './nips/registry.js';
import { Management } from './relay/management.js';
import { managementPost } from './relay/management-http.js';
import type { NegentropyBudget } from './relay/negentropy-budget.js';
import { readerCount } from './relay/queries.js';
import { Relay, type RelayOptions } from './relay/relay.js';
import { pageAssets } from './site-page/assets.js';
import { LiveStats } from './site-page/live.js';
import { renderPage } from './site-page/render.js';
import { compileFilter } from './filter/compile.js';
import type { ServerChoice } from './server/choose.js';
import type { ServerSite } from './server/server.js';
import { readCacheKiB } from './store/open.js';
import { EventStore } from './store/store.js';
import type { RelayMetrics } from './relay/metrics.js';

export interface Site {
  /** Host header names it serves; [] = the default site (the top-level config). */
  readonly names: readonly string[];
  /** The config it runs with (after a reload: the reloadable keys of the last one applied). */
  readonly config: Config;
  readonly store: EventStore;
  readonly relay: Relay;
  readonly management: Management;
  /** What the listener needs of it. */
  readonly served: ServerSite;
  /** Hot reload of this site (Relay.reconfigure), then its NIP-11 document is rebuilt. */
  reload(next: Config): ReloadPlan;
  /** Cluster mode: the peers' health changed; NIP-11 is rebuilt. */
  clusterChanged(): void;
  /** Closes the engine and the store, and stops the page's live numbers. */
  close(): void;
}

export interface SiteDeps {
  verifier: Verifier;
  log: Logger;
  now: () => number;
  /** The clock in milliseconds, for rate limits and the page's live numbers; absent = Date.now. */
  nowMs?: () => number;
  /** NIP-77 records and sessions per IP, one budget for every site. */
  negentropyBudget: NegentropyBudget;
  /** ws://host:port of the listener, once known (the page's URL when relay.url and the Host header are empty). */
  localUrl: () => string;
  /** The WebSocket server that runs, named on the page. */
  server: ServerChoice;
  /** metrics.enabled: a new site's counts for GET /metrics; absent = metrics off. */
  metrics?: () => RelayMetrics;
  /** Cluster mode: this node's name and the peers' health, as last heard (NIP-11 and the page show them). */
  cluster?: () => ClusterInformation;
  /** Connection threads of the process (server.threads): their read connections share one page cache budget. */
  threads?: number;
  /** server.threads: the site's row of shared counters, and whether its relay prunes (only the main thread's). */
  relay?: Pick<RelayOptions, 'counters' | 'prunes' | 'sharedRateLimits' | 'metrics'> | undefined;
  /** A connection thread: a port to the main thread's query reader `index` of this site (one set of readers per process). */
  connectReader?: (index: number) => Promise<MessagePort>;
}

export function openSite(config: Config, names: readonly string[], deps: SiteDeps): Site {
  const log = names.length === 0 ? deps.log : deps.log.child({ site: names[0] });
  const threads = deps.threads ?? 1;
  // One read connection per connection thread, and the process's readers, which every thread shares.
  const readers = readerCount(config.query.readers, threads);
  const store = EventStore.open(config.storage.path, {
    synchronous: config.storage.synchronous,
    cacheKiB: readCacheKiB(threads + readers),
  });
  // Cluster mode: NIP-86 changes go to the other nodes through the outbox, like the events stored here.
  store.management.outbox = config.cluster.enabled;
  // NIP-86: lists and NIP-11 overrides persisted in the store; applied to policies and pages at once.
  const management = new Management(config, store.management, deps.verifier, deps.now);
  let relay: Relay;
  try {
    relay = new Relay(config, store, deps.verifier, log, {
      now: deps.now,
      management,
      nowMs: deps.nowMs,
      negentropyBudget: deps.negentropyBudget,
      metrics: deps.metrics?.(),
      queryReaders: { count: readers, ...(deps.connectReader && { connect: deps.connectReader }) },
      ...deps.relay,
    });
  } catch (error) {
    store.close();
    throw error;
  }
  // NIP-11 is rebuilt when an admin changes the name, description, icon or a pubkey / kind list, and on a reload.
  const informationOf = (): string => JSON.stringify(relayInformation(management.effectiveConfig(), deps.cluster?.()));
  let information = informationOf();
  management.onInfoChanged = () => {
    information = informationOf();
  };
  const nowMs = deps.nowMs ?? Date.now;
  const live = new LiveStats({
    counters: relay.counters,
    countStored: () => store.stats().events,
    countSince: (since) => {
      const filter = compileFilter({ since }, config.limits);
      return 'prefix' in filter ? 0 : store.count([filter], deps.now());
    },
    nowMs,
  });
  return {
    names,
    get config() {
      return relay.config;
    },
    reload: (next) => {
      const plan = relay.reconfigure(next);
      if (plan.conflicts.length === 0 && plan.applied.length > 0) information = informationOf();
      return plan;
    },
    clusterChanged: () => {
      information = informationOf();
    },
    close: () => {
      live.close();
      relay.close();
    },
    store,
    relay,
    management,
    served: {
      relay,
      limits: config.limits,
      pages: {
        information: () => information,
        page: (host) => {
          const shown = management.effectiveConfig();
          const url = relay.config.relay.url || `ws://${host || deps.localUrl()}`;
          const input = { config: shown, url, nips: supportedNips(shown), serverName: deps.server.name, cluster: deps.cluster?.() };
          return renderPage({ ...input, live: live.snapshot(), assets: pageAssets() });
        },
        stats: () => live.toJson(),
        asset: (path) => pageAssets().byPath(path),
      },
      management: {
        handlePost: managementPost(management, relay.rateLimits, () => relay.config, log),
        isIpBlocked: (ip) => management.isIpBlocked(ip),
      },
    },
  };
}
